"""Deep links: `?tab=…&provider=…&model=…` opens the app with those chosen (no gradio here)."""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass
from urllib.parse import urlencode

#: Tab ids as they appear in links, in page order.
TABS = ("text", "vision", "image", "compare", "settings")
_TAB_ALIASES = {"chat": "text", "text-to-image": "image", "images": "image", "t2i": "image"}


@dataclass(frozen=True)
class DeepLink:
    tab: str | None = None
    provider: str | None = None
    model: str | None = None

    @classmethod
    def from_query(cls, params: Mapping[str, str] | None) -> DeepLink:
        """Read a link's query parameters; unknown tabs and blank values are ignored."""
        params = params or {}
        tab = _clean(params.get("tab"))
        tab = _TAB_ALIASES.get(tab.lower(), tab.lower()) if tab else None
        return cls(tab=tab if tab in TABS else None, provider=_clean(params.get("provider")),
                   model=_clean(params.get("model")))

    def query(self) -> str:
        """"?tab=…&provider=…&model=…" with only the parts that are set."""
        parts = {k: v for k, v in (("tab", self.tab), ("provider", self.provider), ("model", self.model)) if v}
        return "?" + urlencode(parts) if parts else ""


def _clean(value: str | None) -> str | None:
    value = (value or "").strip()
    return value[:200] or None
