"""Customer-service sentiment: VADER as the base, cue effects on top, with evidence.

VADER reads social-media text well and support chats badly: "WHERE IS MY REFUND!!!"
scores 0, sarcasm scores high, an agent's "I'm sorry" scores negative. The layer here
keeps VADER's compound score as the base (one analyser instance, reused) and applies
the `sentiment` effects of the cues found in the turn (data in phrasebooks/cues/*.yaml),
in a fixed order:

1. `flip_positive` (sarcasm): a positive base is read as its negative, halved;
2. `shift`: added;
3. `at_least`: raised to at least this (an apology is not a negative turn);
4. `at_most`: lowered to at most this (a threat is never a neutral turn).

Each effect may be gated on the base (`if_base_below`, `if_base_above`). Every applied
effect is kept as an `Adjustment` with the cue and the quote that caused it.
"""

from __future__ import annotations

from dataclasses import dataclass
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .cues import CueLibrary, CueMatch

UPSET_BELOW = -0.05
POSITIVE_FROM = 0.05


def mood_of(value: float) -> str:
    """VADER's convention: compound >= 0.05 positive, <= -0.05 negative (upset)."""
    if value >= POSITIVE_FROM:
        return "positive"
    if value <= UPSET_BELOW:
        return "upset"
    return "neutral"


@dataclass(frozen=True, slots=True)
class Adjustment:
    cue: str
    quote: str
    effect: str
    before: float
    after: float

    def to_json(self) -> dict[str, Any]:
        return {"cue": self.cue, "quote": self.quote, "effect": self.effect,
                "before": round(self.before, 3), "after": round(self.after, 3)}


@dataclass(frozen=True, slots=True)
class Score:
    value: float
    base: float
    adjustments: tuple[Adjustment, ...]

    @property
    def mood(self) -> str:
        return mood_of(self.value)

    def to_json(self) -> dict[str, Any]:
        return {"base": round(self.base, 4), "value": round(self.value, 4),
                "adjustments": [a.to_json() for a in self.adjustments]}


class VaderBase:
    """The narrow seam over vaderSentiment: one analyser, reused; compound score only."""

    def __init__(self) -> None:
        self._analyser = SentimentIntensityAnalyzer()

    def compound(self, text: str) -> float:
        return float(self._analyser.polarity_scores(text)["compound"])


def _clamp(x: float) -> float:
    return -1.0 if x < -1.0 else 1.0 if x > 1.0 else x


class SentimentScorer:
    """Scores one turn: VADER's base plus the effects of the turn's cues."""

    def __init__(self, cues: CueLibrary, base: VaderBase | None = None) -> None:
        self._cues = cues
        self._base = base or VaderBase()

    def score(self, text: str, matches: tuple[CueMatch, ...]) -> Score:
        base = self._base.compound(text)
        effects = []
        present = {m.cue for m in matches}
        for m in matches:
            cue = self._cues.cues.get(m.cue)
            e = cue.sentiment if cue is not None else None
            if e is None:
                continue
            if e.if_base_below is not None and not base < e.if_base_below:
                continue
            if e.if_base_above is not None and not base > e.if_base_above:
                continue
            if e.unless_cues and e.unless_cues & present:
                continue
            effects.append((m, e))
        if not effects:
            return Score(base, base, ())
        value = base
        adjustments: list[Adjustment] = []

        def apply(m: CueMatch, label: str, new: float) -> None:
            nonlocal value
            new = _clamp(new)
            if abs(new - value) > 1e-9:
                adjustments.append(Adjustment(m.cue, m.quote, label, value, new))
                value = new

        for m, e in effects:
            if e.flip_positive and value > 0:
                apply(m, "sarcasm: positive words read as negative", -value / 2)
        for m, e in effects:
            if e.shift:
                apply(m, f"shift {e.shift:+g}", value + e.shift)
        for m, e in effects:
            if e.at_least is not None and value < e.at_least:
                apply(m, f"at least {e.at_least:g}", e.at_least)
        for m, e in effects:
            if e.at_most is not None and value > e.at_most:
                apply(m, f"at most {e.at_most:g}", e.at_most)
        return Score(value, base, tuple(adjustments))
