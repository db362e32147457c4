"""The arena's ratings as an inline SVG: one row per model, its 95% interval as a bar and its rating as a dot.

Model and provider names are escaped text nodes, so the plot renders inert whatever the names hold.
"""

from __future__ import annotations

import html
from collections.abc import Callable

from playground.leaderboard import Standing

ROW = 26
LABEL_WIDTH = 260
PLOT_WIDTH = 420
PAD = 12
MAX_NAME_CHARS = 40


def ratings_svg(standings: list[Standing], label: Callable[[Standing], str] = lambda s: s.contender.model) -> str:
    """An SVG of the rated models (best first); a short note when nothing is rated yet."""
    rated = [s for s in standings if s.rating is not None]
    if not rated:
        return '<p class="arena-plot-empty">Ratings appear after the first votes.</p>'
    low = min(s.lower for s in rated)
    high = max(s.upper for s in rated)
    low, high = _nice(low, high)
    height = ROW * len(rated) + 2 * PAD + 18
    width = LABEL_WIDTH + PLOT_WIDTH + 2 * PAD

    def x(value: float) -> float:
        return LABEL_WIDTH + PAD + (value - low) / (high - low) * PLOT_WIDTH

    parts = [f'<svg xmlns="http://www.w3.org/2000/svg" viewBox="0 0 {width} {height}" role="img" '
             f'aria-label="Bradley–Terry ratings with 95% intervals" style="width:100%;max-width:{width}px;'
             f'font:12px sans-serif;color:inherit">']
    for tick in _ticks(low, high):
        parts.append(f'<line x1="{x(tick):.1f}" x2="{x(tick):.1f}" y1="{PAD}" y2="{height - PAD - 14}" '
                     f'stroke="currentColor" stroke-opacity="0.15"/>'
                     f'<text x="{x(tick):.1f}" y="{height - PAD}" text-anchor="middle" fill="currentColor">'
                     f'{tick:.0f}</text>')
    for i, s in enumerate(rated):
        y = PAD + ROW * i + ROW / 2
        name = _short(label(s))
        parts.append(
            f'<g><title>{html.escape(name)}: {s.rating:.0f} (95% CI {s.lower:.0f}–{s.upper:.0f})</title>'
            f'<text x="{LABEL_WIDTH}" y="{y + 4:.1f}" text-anchor="end" fill="currentColor">{html.escape(name)}</text>'
            f'<line x1="{x(s.lower):.1f}" x2="{x(s.upper):.1f}" y1="{y:.1f}" y2="{y:.1f}" stroke="#6366f1" '
            f'stroke-width="4" stroke-linecap="round"/>'
            f'<circle cx="{x(s.rating):.1f}" cy="{y:.1f}" r="5" fill="#f97316"/></g>')
    parts.append("</svg>")
    return "".join(parts)


def _short(name: str) -> str:
    name = " ".join(str(name).split())
    return name if len(name) <= MAX_NAME_CHARS else name[: MAX_NAME_CHARS - 1] + "…"


def _nice(low: float, high: float) -> tuple[float, float]:
    """The axis range: the data with some room, at least 100 points wide, on multiples of 50."""
    middle, half = (low + high) / 2, max(50.0, (high - low) / 2 + 20)
    return 50 * ((middle - half) // 50), 50 * -((-(middle + half)) // 50)


def _ticks(low: float, high: float) -> list[float]:
    step = 50.0
    while (high - low) / step > 8:
        step *= 2
    first = step * -(-low // step)
    return [first + step * i for i in range(int((high - first) // step) + 1)]
