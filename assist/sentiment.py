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

Before those, the words of a `set_aside` cue (courtesy formulas: "please", "kindly",
"thanks in advance"; laughter: "lol") are taken out of a complaint: when another cue in
the turn lowers the score and the turn without them scores lower, VADER's score of the
rest becomes the base the effects see. "Please, I need my money back, thank you" is not
a happy turn. With `set_aside: always` (courtesy), a turn that is positive only through
those words is read as neutral: "Can you send me the invoice please?" is a request.
With `set_aside: outside-complaints` (service words: "cancel", "error 500", an answering
"No,"), a turn with no complaint cue that is negative only through them is scored
without them, at most neutral: "no thats all" is not an upset turn.

Each effect may be gated on the base (`if_base_below`, `if_base_above`). Every applied
effect is kept as an `Adjustment` with the cue and the quote that caused it.
"""

from __future__ import annotations

import math
import re
from dataclasses import dataclass
from functools import cache
from typing import Any

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer

from .cues import CueLibrary, CueMatch, SentimentEffect

UPSET_BELOW = -0.05
POSITIVE_FROM = 0.05
WINDOW_WORDS = 150  # a longer turn is read by VADER in pieces of at most this many words (VaderBase)
VADER_ALPHA = 15.0  # VADER's normalisation: compound = sum / sqrt(sum^2 + 15)
_SENTENCE_BREAK = re.compile(r"(?<=[.!?\n])\s+")


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
    pieces: int = 1  # how many pieces VADER read a long turn in (VaderBase); 1 for a turn of ordinary length

    @property
    def mood(self) -> str:
        return mood_of(self.value)

    def to_json(self) -> dict[str, Any]:
        out = {"base": round(self.base, 4), "value": round(self.value, 4),
               "adjustments": [a.to_json() for a in self.adjustments]}
        if self.pieces > 1:
            out["base_pieces"] = self.pieces
        return out


@cache
def _analyser() -> SentimentIntensityAnalyzer:
    """VADER's analyser, one a process. Building one reads its lexicon files (about 6 ms, as
    much as fifteen turns cost) and scoring only reads them, so every engine shares it:
    `assist eval` and `assist backtest` start an engine a conversation."""
    return SentimentIntensityAnalyzer()


class VaderBase:
    """The narrow seam over vaderSentiment: one analyser, reused; compound score only.

    VADER's time grows with the square of a text's length: for each word that carries a
    feeling it looks again at every word of the text (about 180 ms for a pasted 16 KB
    email, and the server reads turns one after the other). A turn of at most
    WINDOW_WORDS words, every turn of our labelled chats and every line of VADER's own
    ground truth among them, gets VADER's own compound. A longer turn is read in pieces
    of whole sentences of at most that many words; each piece's compound is turned back
    into VADER's sum (the inverse of its normalisation) and the sums are added and
    normalised as VADER does. Negation, "but" and the weight of "!" then act within a
    piece instead of across the whole turn.
    """

    def __init__(self) -> None:
        self._analyser = _analyser()

    def compound(self, text: str) -> float:
        return self.read(text)[0]

    def whole(self, text: str) -> float:
        """VADER's own compound score of the whole of `text`, however long: bare VADER, the
        baseline `assist eval` sets beside ours."""
        return float(self._analyser.polarity_scores(text)["compound"])

    def read(self, text: str) -> tuple[float, int]:
        """The compound score of `text`, and how many pieces VADER read it in."""
        if len(text) < 2 * WINDOW_WORDS or len(pieces := windows(text)) == 1:
            return self.whole(text), 1
        total = math.fsum(_vader_sum(self.whole(p)) for p in pieces)
        return round(total / math.sqrt(total * total + VADER_ALPHA), 4), len(pieces)


def windows(text: str, size: int = WINDOW_WORDS) -> list[str]:
    """`text` in pieces of whole sentences of at most `size` words (a longer sentence in
    pieces of `size` words); a text of at most `size` words is one piece."""
    words = text.split()
    if len(words) <= size:
        return [text]
    pieces: list[list[str]] = [[]]
    for sentence in _SENTENCE_BREAK.split(text):
        part = sentence.split()
        if pieces[-1] and len(pieces[-1]) + len(part) > size:
            pieces.append([])
        while len(part) > size:
            if pieces[-1]:
                pieces.append([])
            pieces[-1].extend(part[:size])
            part = part[size:]
            pieces.append([])
        pieces[-1].extend(part)
    return [" ".join(p) for p in pieces if p]


def _vader_sum(compound: float) -> float:
    """The sum of valences behind a VADER compound score: its normalisation undone. VADER
    rounds to four places, so a compound of +-1 is taken as +-0.9999 (a sum of about 274)."""
    c = max(-0.9999, min(0.9999, compound))
    return c * math.sqrt(VADER_ALPHA / (1.0 - c * c))


def _clamp(x: float) -> float:
    return -1.0 if x < -1.0 else 1.0 if x > 1.0 else x


class SentimentScorer:
    """Scores one turn: VADER's base plus the effects of the turn's cues."""

    def __init__(self, cues: CueLibrary, base: VaderBase | None = None) -> None:
        self._cues = cues
        self._base = base or VaderBase()

    def score(self, text: str, matches: tuple[CueMatch, ...]) -> Score:
        raw, pieces = self._base.read(text)
        present = {m.cue for m in matches}
        found = [(m, e) for m in matches if (e := self._effect(m.cue)) is not None]
        adjustments: list[Adjustment] = []
        base = raw
        aside = [(m, e) for m, e in found if e.set_aside is not None and not (e.unless_cues & present)]
        if aside:
            base = self._set_aside(text, raw, aside, found, adjustments)
        effects = []
        for m, e in found:
            if e.if_base_below is not None and not base < e.if_base_below:
                continue
            if e.if_base_above is not None and not base > e.if_base_above:
                continue
            if e.unless_cues and e.unless_cues & present:
                continue
            effects.append((m, e))
        if not effects and not adjustments:
            return Score(raw, raw, (), pieces)
        value = base

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
        return Score(value, raw, tuple(adjustments), pieces)

    def _effect(self, cue_id: str) -> SentimentEffect | None:
        cue = self._cues.cues.get(cue_id)
        return cue.sentiment if cue is not None else None

    def _set_aside(self, text: str, raw: float, aside: list[tuple[CueMatch, SentimentEffect]],
                   found: list[tuple[CueMatch, SentimentEffect]], adjustments: list[Adjustment]) -> float:
        """VADER's score of the turn without its courtesy words, when that is the fairer base."""
        others = [e for _, e in found if e.set_aside is None]
        if any(e.flip_positive for e in others):
            return raw  # sarcasm needs its praise words
        complaint = any(e.shift < 0 or (e.at_most is not None and e.at_most < 0) for e in others)
        keep: tuple[str, ...]
        if complaint:  # courtesy in a complaint, when it lifts a negative turn
            keep, applies = ("in-complaints", "always"), raw > UPSET_BELOW
        elif raw <= UPSET_BELOW:  # service words in a plain turn: "No, that's all", "I want to cancel"
            keep, applies = ("outside-complaints",), True
        else:  # positive only through courtesy?
            keep, applies = ("always",), raw >= POSITIVE_FROM
        aside = [(m, e) for m, e in aside if e.set_aside_when in keep]
        if not applies or not aside:
            return raw
        rest = text
        words: list[str] = []
        for _, e in aside:
            assert e.set_aside is not None
            pieces, last = [], 0
            for m in e.set_aside.finditer(rest):  # one pass: the words, and the text without them
                words.append(m.group(0))
                pieces += [rest[last:m.start()], " "]
                last = m.end()
            rest = "".join(pieces) + rest[last:]
        if not rest.strip(" .,!?;:-"):
            if complaint or raw > UPSET_BELOW:
                return raw  # nothing but courtesy: "thanks!", "ok please"
            lowered = 0.0  # nothing but service words: a bare "no", "no thanks" answers a question
        else:
            lowered = self._base.compound(rest)
        if complaint:
            new, fairer, label = lowered, lowered < raw, "courtesy words set aside"
        elif raw <= UPSET_BELOW:  # neutral at most: "I want to cancel my order" is not happy either
            new = min(lowered, 0.0)
            fairer, label = new > raw, "service words set aside"
        else:  # positive only through courtesy: "Can you send the invoice please?"
            new, fairer, label = max(lowered, 0.0), lowered < POSITIVE_FROM, "courtesy words set aside"
        if not fairer:
            return raw
        quote = ", ".join(dict.fromkeys(w.lower() for w in words))
        adjustments.append(Adjustment(aside[0][0].cue, quote, label, raw, new))
        return new
