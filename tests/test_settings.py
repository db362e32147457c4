"""Typed settings: declared once (providers/settings.py), parsed once per change, documented in the README."""

from __future__ import annotations

import logging
import re

from providers.settings import GROUPS, HttpSettings, MediaSettings, SpacesSettings
from tests.support.servers import ROOT

README = (ROOT / "README.md").read_text(encoding="utf-8")


def _readme_default(variable: str) -> str | None:
    match = re.search(rf"^\| `{variable}` \| ([^|]*) \|", README, re.M)
    return match.group(1).strip() if match else None


def test_every_declared_setting_is_in_the_readme_with_its_default():
    for group in GROUPS:
        for field in group.variables():
            name, default = field.metadata["env"], field.default
            shown = _readme_default(name)
            assert shown is not None, f"{name} ({group.__name__}) is missing from the README's configuration"
            assert field.metadata["doc"], name
            if isinstance(default, (int, float)) and not isinstance(default, bool) and default:
                expected = f"`{default}`" if isinstance(default, int) else f"`{default:g}`"
                assert shown == expected, (name, shown, default)


def test_code_reads_no_setting_it_does_not_declare():
    """Settings are read through the groups; only the app's own settings (ui/config.py) and the
    names providers declare as data (a Space's or a server's setting) are read directly."""
    literal = re.compile(r'env_(?:str|int|float|bool|list)\("([A-Z_]+)"')
    allowed = {"providers/settings.py", "providers/config.py", "ui/config.py"}
    for path in [*ROOT.glob("providers/**/*.py"), *ROOT.glob("playground/*.py"), *ROOT.glob("ui/*.py")]:
        if str(path.relative_to(ROOT)) in allowed:
            continue
        assert not literal.findall(path.read_text(encoding="utf-8")), path


def test_parsed_once_until_the_environment_changes(monkeypatch):
    monkeypatch.setenv("SPACES_TIMEOUT", "42")
    first = SpacesSettings.current()
    assert first.timeout == 42.0 and SpacesSettings.current() is first  # not parsed again
    monkeypatch.setenv("SPACES_TIMEOUT", "7")
    assert SpacesSettings.current().timeout == 7.0  # a change is heard


def test_bad_values_fall_back_and_bounds_hold(monkeypatch, caplog):
    monkeypatch.setenv("PROVIDER_CONNECT_TIMEOUT", "soon")
    monkeypatch.setenv("IMAGE_WORKERS", "0")
    with caplog.at_level(logging.WARNING):
        assert HttpSettings.current().connect_timeout == 10.0
        assert MediaSettings.current().workers == 1
    assert "PROVIDER_CONNECT_TIMEOUT='soon' is not a number" in caplog.text
