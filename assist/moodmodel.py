"""The learned mood check: a small logistic model over the cue layer's reading of a turn.

The cue layer (sentiment.py) reads what its patterns know. Real chats say "upset" in
ways no pattern lists yet ("3 days nobody answer", "this is how you treat customers")
and state plain problems that VADER reads as very negative. The mood model is trained
on labelled customer turns (`assist train-mood`, development sets only) and asks one
question of every customer turn: upset or not? Its inputs are the cue layer's score,
VADER's base score, the turn's cues, the cues of the agent's last message, the words
and word pairs of the turn that were used by at least a few independent authors, and
what the cue layer read in the customer's earlier turns (`Earlier`): a terse "ok and?"
reads differently from a customer who was upset a turn ago.

The model knows only the cues it was trained with. Where a cue it has no weight for moved
the score (a cue a supervisor has just added, or one too rare in the training chats), the
cue layer's call stands: a new rule is not silently undone by a model that never saw it.

It does not replace the score, it corrects the mood call: when it says "upset" with
the score above the upset bound, the score is lowered to `upset_value`; when it says
"not upset" with the score at or below the bound, the score is raised to `calm_value`.
The model overrules the cue layer's call only when it is sure: at least `sure` (P(upset)
at least that, or at most 1 - that) for a score within `reach` of zero, and at least
`sure_beyond_reach` for a stronger reading (a plain wider reach reads chats a little
better but ordinary text worse, VADER's ground truth). A customer's later turns are read
in the context of the chat so far, which the cue layer does not see: there a stronger
reading gives way when the model is at least `sure_beyond_reach_later` (by default the
same bar). One-message texts, VADER's ground truth among them, are all first turns.
Either correction is an `Adjustment` quoting the words that weighed most in it, so the
panel and `assist replay` show why. The weights are data (phrasebooks/mood-model.yaml);
without that file there is no model and the cue layer's score stands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Collection, Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .schema import Field, read_mapping
from .sentiment import UPSET_BELOW, Adjustment, Score
from .yamlsrc import load_yaml, value_where, where

_TOKEN = re.compile(r"[a-z0-9']+")
CUE, AGENT, WORD, PAIR, CONTEXT = "cue:", "agent:", "word:", "pair:", "ctx:"
FEATURE_KINDS = (CUE, AGENT, WORD, PAIR, CONTEXT)
EVIDENCE_FEATURES = 3
FIRST = "first"  # the context of a customer's first turn

TOP_FIELDS = {"mood_model": Field("mapping", required=True)}
MODEL_FIELDS = {
    "about": Field("str"),
    "trained_on": Field("mapping"),
    "sure": Field("number", default=0.5),
    "reach": Field("number", minimum=0, default=1.0),
    "sure_beyond_reach": Field("number", default=1.0),
    "sure_beyond_reach_later": Field("number"),
    "upset_value": Field("number", required=True),
    "calm_value": Field("number", required=True),
    "bias": Field("number", required=True),
    "score_weight": Field("number", required=True),
    "base_weight": Field("number", required=True),
    "weights": Field("mapping", required=True),
}


def sigmoid(z: float) -> float:
    """The logistic function, kept finite for any z."""
    return 1.0 / (1.0 + math.exp(-max(-30.0, min(30.0, z))))


def words_in(text: str) -> list[str]:
    """The words of a turn as both learned checks see them: lower case, letters, digits, apostrophes."""
    return _TOKEN.findall(text.lower())


def turn_features(text: str, cues: Iterable[str], agent_cues: Iterable[str],
                  context: Iterable[str] = ()) -> set[str]:
    """The yes/no features of one customer turn, named as they are in the weights file."""
    words = words_in(text)
    out = {WORD + w for w in words}
    out.update(f"{PAIR}{a} {b}" for a, b in zip(words, words[1:]))
    out.update(CUE + c for c in cues)
    out.update(AGENT + c for c in agent_cues)
    out.update(CONTEXT + c for c in context)
    return out


@dataclass(slots=True)
class Earlier:
    """What the cue layer (before this check) read in a customer's earlier turns.

    The same for training (moodtrain) and live (one per conversation), so the context a
    turn is judged in is the one it was learned in. Three flags, no history kept."""

    turns: int = 0
    last_upset: bool = False
    ever_upset: bool = False

    def context(self) -> tuple[str, ...]:
        """The context features of the customer's next turn."""
        if not self.turns:
            return (FIRST,)
        return ("after-upset",) * self.last_upset + ("upset-before",) * self.ever_upset

    def add(self, cue_layer_value: float) -> None:
        """Count a customer turn the cue layer read as `cue_layer_value`."""
        self.turns += 1
        self.last_upset = cue_layer_value <= UPSET_BELOW
        self.ever_upset = self.ever_upset or self.last_upset


@dataclass(frozen=True)
class MoodModel:
    bias: float
    score_weight: float
    base_weight: float
    weights: dict[str, float]
    upset_value: float
    calm_value: float
    sure: float = 0.5  # within reach, overrule the cue layer's call only when at least this sure
    reach: float = 1.0
    sure_beyond_reach: float = 1.0  # the same for a stronger reading (1: it always stands)
    sure_beyond_reach_later: float | None = None  # the same after the customer's first turn (None: as above)
    about: str = ""
    trained_on: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    learned_cues: frozenset[str] = field(init=False, repr=False, compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "learned_cues",
                           frozenset(f[len(CUE):] for f in self.weights if f.startswith(CUE)))

    def probability(self, score: float, base: float, features: Iterable[str]) -> float:
        weights = self.weights  # fsum: the same z whatever order the (set of) features comes in
        z = self.bias + self.score_weight * score + self.base_weight * base + math.fsum(
            weights.get(f, 0.0) for f in features)
        return sigmoid(z)

    def bar(self, score: float, first: bool = True) -> float:
        """How sure the model must be to change the cue layer's call on `score` (1: it stands),
        in the customer's first turn or (`first` false) a later one."""
        if abs(score) <= self.reach:
            return self.sure
        if first or self.sure_beyond_reach_later is None:
            return self.sure_beyond_reach
        return self.sure_beyond_reach_later

    def upset_call(self, score: float, base: float, features: Collection[str]) -> tuple[bool, float | None]:
        """Upset or not, and the model's P(upset) (None when a strong reading stands unasked).
        The cue layer's call stands unless the model is sure enough of the other one."""
        read_upset = score <= UPSET_BELOW
        bar = self.bar(score, first=CONTEXT + FIRST in features)
        if bar >= 1.0:
            return read_upset, None
        p = self.probability(score, base, features)
        if (p <= 1.0 - bar) if read_upset else (p >= bar):
            return not read_upset, p
        return read_upset, p

    def correct(self, score: Score, text: str, cues: Iterable[str], agent_cues: Iterable[str],
                context: Iterable[str] = ()) -> Score:
        """The score with the mood call corrected, when the model disagrees with it."""
        context = tuple(context)
        first = FIRST in context
        if self.bar(score.value, first) >= 1.0:  # the reading stands (checked first: no features to build)
            return score
        if any(a.cue not in self.learned_cues for a in score.adjustments):
            return score  # a cue it never learned moved the score: its rule stands
        features = turn_features(text, cues, agent_cues, context)
        upset, p = self.upset_call(score.value, score.base, features)
        if p is None or upset == (score.value <= UPSET_BELOW):
            return score
        new = min(score.value, self.upset_value) if upset else max(score.value, self.calm_value)
        sign = 1 if upset else -1  # the features that pushed this way, strongest first
        pushing = sorted((f for f in features if sign * self.weights.get(f, 0.0) > 0),
                         key=lambda f: (-sign * self.weights[f], f))[:EVIDENCE_FEATURES]  # ties by name
        quote = ", ".join(_readable(f) for f in pushing) or "no single word: the score and the rest"
        effect = (f"mood model: upset (p {p:.2f})" if sign > 0 else f"mood model: not upset (p upset {p:.2f})")
        if abs(score.value) > self.reach:
            effect += (", sure enough to overrule a strong reading" if first or self.sure_beyond_reach_later is None
                       else ", overruling a strong reading in the light of the chat so far")
        adjustment = Adjustment("mood-model", quote, effect, score.value, new)
        return Score(new, score.base, (*score.adjustments, adjustment), score.pieces)


def _readable(feature: str) -> str:
    kind, _, name = feature.partition(":")
    if kind in ("word", "pair"):
        return f"'{name}'"
    if kind == "ctx":
        return CONTEXT_WORDS.get(name, f"context {name}")
    return f"cue {name}" if kind == "cue" else f"agent {name}"


CONTEXT_WORDS = {"first": "the customer's first turn", "after-upset": "upset a turn ago",
                 "upset-before": "upset earlier in the chat"}


def load_mood_model(path: Path | str, text: str | None = None, *, fast: bool = False) -> MoodModel:
    """Read a weights file; RuleFileError lists every problem with file and line."""
    file = str(path)
    data = load_yaml(path, text, fast=fast)
    issues: list[Issue] = []
    if data is None:
        raise RuleFileError([Issue(Location(file), "the file is empty; expected 'mood_model:'")])
    top = read_mapping(file, data, TOP_FIELDS, issues, what="mood model file")
    values = read_mapping(file, top["mood_model"], MODEL_FIELDS, issues, what="mood_model") \
        if "mood_model" in top else {}
    weights: dict[str, float] = {}
    for name, weight in (values.get("weights") or {}).items():
        node = data["mood_model"]["weights"]
        if not isinstance(name, str) or not name.startswith(FEATURE_KINDS):
            issues.append(Issue(where(file, node, name), f"mood_model weights: {name!r} is not a feature name; "
                                f"names start with {', '.join(map(repr, FEATURE_KINDS))}"))
        elif isinstance(weight, bool) or not isinstance(weight, int | float):
            issues.append(Issue(value_where(file, node, name),
                                f"mood_model weights: the weight of {name!r} must be a number"))
        else:
            weights[name] = float(weight)
    for key in ("sure", "sure_beyond_reach", "sure_beyond_reach_later"):
        if key in values and not 0.5 <= float(values[key]) <= 1:
            issues.append(Issue(value_where(file, data["mood_model"], key),
                                f"mood_model {key} must lie between 0.5 and 1 (1: the cue layer's call always stands)"))
    if "upset_value" in values and not float(values["upset_value"]) <= UPSET_BELOW:
        issues.append(Issue(value_where(file, data["mood_model"], "upset_value"),
                            f"mood_model upset_value must read as upset: at most {UPSET_BELOW}"))
    if "calm_value" in values and not float(values["calm_value"]) > UPSET_BELOW:
        issues.append(Issue(value_where(file, data["mood_model"], "calm_value"),
                            f"mood_model calm_value must not read as upset: above {UPSET_BELOW}"))
    errors = [i for i in issues if i.severity == "error"]
    if errors or not values:
        raise RuleFileError(issues or [Issue(Location(file), "expected 'mood_model:' with its weights")])
    return MoodModel(
        bias=float(values["bias"]), score_weight=float(values["score_weight"]),
        base_weight=float(values["base_weight"]), weights=weights,
        upset_value=float(values["upset_value"]), calm_value=float(values["calm_value"]),
        sure=float(values.get("sure", 0.5)), reach=float(values.get("reach", 1.0)),
        sure_beyond_reach=float(values.get("sure_beyond_reach", 1.0)),
        sure_beyond_reach_later=(float(values["sure_beyond_reach_later"])
                                 if values.get("sure_beyond_reach_later") is not None else None),
        about=str(values.get("about", "")),
        trained_on=dict(values.get("trained_on") or {}), source=file,
    )
