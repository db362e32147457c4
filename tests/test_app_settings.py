"""The app's own settings (ui/config.py) are each in the README's configuration table, with their defaults."""

from __future__ import annotations

import re

from tests.support.servers import ROOT
from ui.config import AppSettings

README = (ROOT / "README.md").read_text(encoding="utf-8")
CONFIG = (ROOT / "ui" / "config.py").read_text(encoding="utf-8")


def test_every_app_setting_has_a_readme_row():
    names = set(re.findall(r'env_(?:str|int|float|bool)\("([A-Z_]+)"', CONFIG))
    assert "PLAYGROUND_MCP" in names
    missing = [name for name in sorted(names) if not re.search(rf"^\| `{name}` \|", README, re.M)]
    assert not missing, f"not in the README's configuration table: {missing}"


def test_mcp_is_on_unless_turned_off(monkeypatch):
    monkeypatch.delenv("PLAYGROUND_MCP", raising=False)
    assert AppSettings.from_env().mcp_server is True
    assert re.search(r"^\| `PLAYGROUND_MCP` \| `1` \|", README, re.M)
    monkeypatch.setenv("PLAYGROUND_MCP", "0")
    assert AppSettings.from_env().mcp_server is False
