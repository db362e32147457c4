"""Arena votes as values, and the JSON-lines votes file of earlier versions (read once, to import it).

A vote line is `{"time": ..., "battle": "<id>", "a": {"provider", "model"}, "b": {"provider", "model"},
"outcome": "a"|"b"|"tie"|"both_bad"}` (`battle` is missing on lines written before battles had ids).
"""

from __future__ import annotations

import json
import logging
import os
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

from providers import InputError

logger = logging.getLogger(__name__)

OUTCOMES = ("a", "b", "tie", "both_bad")
ALREADY_VOTED = "This battle already has a vote. Send a new prompt to start the next battle."


@dataclass(frozen=True)
class Contender:
    """One model in the arena: a provider id and a model id."""

    provider: str
    model: str

    @property
    def key(self) -> str:
        return f"{self.provider}/{self.model}"

    def as_dict(self) -> dict[str, str]:
        return {"provider": self.provider, "model": self.model}


@dataclass(frozen=True)
class Vote:
    a: Contender
    b: Contender
    outcome: str
    time: float = 0.0
    #: The battle this vote is for ("" on votes from before battles had ids).
    battle: str = ""

    @property
    def score(self) -> float:
        """A's score: 1 for a win, 0 for a loss, ½ for a tie or "both bad" (a draw)."""
        return {"a": 1.0, "b": 0.0}.get(self.outcome, 0.5)

    def as_json(self) -> str:
        data: dict = {"time": self.time}
        if self.battle:
            data["battle"] = self.battle
        data.update({"a": self.a.as_dict(), "b": self.b.as_dict(), "outcome": self.outcome})
        return json.dumps(data, ensure_ascii=False)


class BattleAlreadyVoted(InputError):
    """A second vote for a battle: refused, the first one stands."""

    def __init__(self) -> None:
        super().__init__(ALREADY_VOTED)


def check_outcome(outcome: str) -> None:
    if outcome not in OUTCOMES:
        raise InputError(f"Unknown vote {outcome!r}; expected one of {', '.join(OUTCOMES)}.")


def read_votes_file(path: str | os.PathLike) -> list[Vote]:
    """Every readable vote of a JSON-lines votes file in file order ([] when there is no file).

    Damaged lines are skipped with a warning. Lines end at "\\n" only (a model name may hold other
    Unicode line breaks), and each line is decoded on its own, so one damaged line never hides others.
    """
    try:
        raw = Path(path).read_bytes()
    except FileNotFoundError:
        return []
    return [vote for vote in _parse_lines(raw, path) if vote is not None]


def _parse_lines(chunk: bytes, path: os.PathLike | str) -> Iterator[Vote | None]:
    for number, line in enumerate(chunk.split(b"\n"), 1):
        if not line.strip():
            continue
        try:
            yield parse_vote(line.decode("utf-8"))
        except (ValueError, KeyError, TypeError, AttributeError):  # UnicodeDecodeError is a ValueError
            logger.warning("Skipping damaged line %d of %s", number, path)
            yield None


def parse_vote(line: str) -> Vote:
    """One JSON line as a Vote (ValueError, KeyError, TypeError or AttributeError when damaged)."""
    data = json.loads(line)
    outcome = data["outcome"]
    if outcome not in OUTCOMES:
        raise ValueError(outcome)
    a, b = (Contender(str(data[s]["provider"]), str(data[s]["model"])) for s in ("a", "b"))
    battle = data.get("battle") or ""
    return Vote(a, b, outcome, float(data.get("time") or 0.0), battle if isinstance(battle, str) else str(battle))
