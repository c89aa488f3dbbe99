"""Why a mood call came out as it did: the step of a turn's score that decided it.

A customer turn's score starts at VADER's reading (`evidence.base`) and goes through the
turn's adjustments in order (`evidence.adjustments`: cue effects, a set-aside of courtesy
or service words, the mood model). The panel's call is upset or not. The step that
*decided* the call is the last adjustment that carried the score across the upset bound to
the side it ended on; when none did, VADER's own reading stood.

`assist eval` uses this to say where the layer goes wrong and why: each wrong call gets a
cause ("moved to upset by cue resigned", "no cue; VADER read it calm"), and each cue that
decided calls gets a count of how many of them the labels agree with. A supervisor sees
which rule to look at first.
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Iterable, Mapping
from dataclasses import dataclass
from typing import Any

from .sentiment import UPSET_BELOW

VADER = "VADER"  # the decider when no adjustment crossed the bound
MODEL = "mood-model"  # the mood model's adjustments carry this as their cue


@dataclass(frozen=True, slots=True)
class MoodCall:
    """One labelled customer turn: the label, our call and what decided it."""

    conversation: str
    event: int
    text: str
    label: str  # upset, neutral or positive (the labeller's)
    ours: str  # the same, as the turn record says
    vader: str  # the same, bare VADER's reading of the whole turn (the baseline `assist eval` sets beside ours)
    cues: tuple[str, ...]
    decided_by: str  # a cue id, MODEL, or VADER (its reading stood)
    effect: str  # what the deciding step did, in the record's words ("" for VADER)

    @property
    def right(self) -> bool:
        """Upset or not, as the labeller said (the panel's question)."""
        return (self.label == "upset") == (self.ours == "upset")

    @property
    def cause(self) -> str:
        """Why the call went as it did, in a few words."""
        upset = self.ours == "upset"
        if self.decided_by == MODEL:
            return f"the mood model read it {'upset' if upset else 'calm'}"
        if self.decided_by != VADER:
            how = " (its words set aside)" if self.effect.endswith("set aside") else ""
            return f"moved to {'upset' if upset else 'calm'} by cue {self.decided_by}{how}"
        if not self.cues:
            return f"no cue; VADER read it {'upset' if upset else 'calm'}"
        return f"VADER read it {'upset' if upset else 'calm'}; its cues did not change that"


def describe(decider: str) -> str:
    """A decider in words: "the mood model", "cue resigned"."""
    return "the mood model" if decider == MODEL else "VADER's reading" if decider == VADER else f"cue {decider}"


def decided_by(evidence: Mapping[str, Any]) -> tuple[str, str]:
    """The step of a turn's score that decided its upset-or-not call: (cue or MODEL or VADER, effect)."""
    value = float(evidence.get("base", 0.0))
    final = float(evidence.get("value", value)) <= UPSET_BELOW
    decider, effect = VADER, ""
    for adjustment in evidence.get("adjustments", ()):
        before, after = float(adjustment["before"]), float(adjustment["after"])
        if (before <= UPSET_BELOW) != (after <= UPSET_BELOW) and (after <= UPSET_BELOW) == final:
            decider, effect = str(adjustment["cue"]), str(adjustment.get("effect", ""))
    return decider, effect


def mood_call(conversation: str, event: int, text: str, label: str, turn: Mapping[str, Any],
              vader: str) -> MoodCall:
    """The MoodCall of one labelled customer turn from its turn record (and bare VADER's mood of it)."""
    decider, effect = decided_by(turn.get("evidence", {}))
    return MoodCall(conversation, event, text, label, str(turn["mood"]), vader, tuple(turn.get("cues", ())),
                    decider, effect)


def error_causes(calls: Iterable[MoodCall]) -> dict[str, Counter[str]]:
    """Wrong calls by cause: {"upset read as calm": ..., "calm read as upset": ...}."""
    out: dict[str, Counter[str]] = {"upset read as calm": Counter(), "calm read as upset": Counter()}
    for call in calls:
        if not call.right:
            out["upset read as calm" if call.label == "upset" else "calm read as upset"][call.cause] += 1
    return out


@dataclass(frozen=True, slots=True)
class DeciderTally:
    """How the calls one step decided compare with the labels."""

    decided_by: str
    to_upset_right: int = 0
    to_upset_wrong: int = 0
    to_calm_right: int = 0
    to_calm_wrong: int = 0

    @property
    def wrong(self) -> int:
        return self.to_upset_wrong + self.to_calm_wrong

    @property
    def total(self) -> int:
        return self.to_upset_right + self.to_upset_wrong + self.to_calm_right + self.to_calm_wrong


def decider_tallies(calls: Iterable[MoodCall]) -> list[DeciderTally]:
    """Every cue (and the mood model) that decided a call, most wrong calls first."""
    counts: dict[str, Counter[str]] = {}
    for call in calls:
        if call.decided_by == VADER:
            continue
        way = "to_upset" if call.ours == "upset" else "to_calm"
        counts.setdefault(call.decided_by, Counter())[f"{way}_{'right' if call.right else 'wrong'}"] += 1
    tallies = [DeciderTally(name, **dict(c)) for name, c in counts.items()]
    return sorted(tallies, key=lambda t: (-t.wrong, -t.total, t.decided_by))
