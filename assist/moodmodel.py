"""The learned mood check: a small logistic model over the cue layer's reading of a turn.

The cue layer (sentiment.py) reads what its patterns know. Real chats say "upset" in
ways no pattern lists yet ("3 days nobody answer", "this is how you treat customers")
and state plain problems that VADER reads as very negative. The mood model is trained
on labelled customer turns (`assist train-mood`, development sets only) and asks one
question of every customer turn: upset or not? Its inputs are the cue layer's score,
VADER's base score, the turn's cues, the cues of the agent's last message, and the
words and word pairs of the turn that were used by at least a few independent authors.

It does not replace the score, it corrects the mood call: when it says "upset" with
the score above the upset bound, the score is lowered to `upset_value`; when it says
"not upset" with the score at or below the bound, the score is raised to `calm_value`.
Only scores within `reach` of zero are corrected: a strong reading stands (a wider
reach reads chats a little better but ordinary text worse, VADER's ground truth).
Either correction is an `Adjustment` quoting the words that weighed most in it, so the
panel and `assist replay` show why. The weights are data (phrasebooks/mood-model.yaml);
without that file there is no model and the cue layer's score stands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .schema import Field, read_mapping
from .sentiment import UPSET_BELOW, Adjustment, Score
from .yamlsrc import load_yaml, value_where, where

_TOKEN = re.compile(r"[a-z0-9']+")
CUE, AGENT, WORD, PAIR = "cue:", "agent:", "word:", "pair:"
EVIDENCE_FEATURES = 3

TOP_FIELDS = {"mood_model": Field("mapping", required=True)}
MODEL_FIELDS = {
    "about": Field("str"),
    "trained_on": Field("mapping"),
    "threshold": Field("number", default=0.5),
    "reach": Field("number", minimum=0, default=1.0),
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


def turn_features(text: str, cues: Iterable[str], agent_cues: Iterable[str]) -> set[str]:
    """The yes/no features of one customer turn, named as they are in the weights file."""
    words = words_in(text)
    out = {WORD + w for w in words}
    out.update(f"{PAIR}{a} {b}" for a, b in zip(words, words[1:]))
    out.update(CUE + c for c in cues)
    out.update(AGENT + c for c in agent_cues)
    return out


@dataclass(frozen=True)
class MoodModel:
    bias: float
    score_weight: float
    base_weight: float
    weights: dict[str, float]
    upset_value: float
    calm_value: float
    threshold: float = 0.5
    reach: float = 1.0
    about: str = ""
    trained_on: dict[str, Any] = field(default_factory=dict)
    source: str = ""

    def probability(self, score: float, base: float, features: Iterable[str]) -> float:
        weights = self.weights  # fsum: the same z whatever order the (set of) features comes in
        z = self.bias + self.score_weight * score + self.base_weight * base + math.fsum(
            weights.get(f, 0.0) for f in features)
        return sigmoid(z)

    def upset_call(self, score: float, base: float, features: Iterable[str]) -> tuple[bool, float | None]:
        """Upset or not, and the model's P(upset) when the score lies within its reach (else None:
        a strong reading stands and the cue layer's call is kept)."""
        if abs(score) > self.reach:
            return score <= UPSET_BELOW, None
        p = self.probability(score, base, features)
        return p >= self.threshold, p

    def correct(self, score: Score, text: str, cues: Iterable[str], agent_cues: Iterable[str]) -> Score:
        """The score with the mood call corrected, when the model disagrees with it."""
        if abs(score.value) > self.reach:  # a strong reading stands (checked first: no features to build)
            return score
        features = turn_features(text, cues, agent_cues)
        upset, p = self.upset_call(score.value, score.base, features)
        if p is None or upset == (score.value <= UPSET_BELOW):
            return score
        new = min(score.value, self.upset_value) if upset else max(score.value, self.calm_value)
        sign = 1 if upset else -1  # the features that pushed this way, strongest first
        pushing = sorted((f for f in features if sign * self.weights.get(f, 0.0) > 0),
                         key=lambda f: (-sign * self.weights[f], f))[:EVIDENCE_FEATURES]  # ties by name
        quote = ", ".join(_readable(f) for f in pushing) or "no single word: the score and the rest"
        effect = (f"mood model: upset (p {p:.2f})" if sign > 0 else f"mood model: not upset (p upset {p:.2f})")
        adjustment = Adjustment("mood-model", quote, effect, score.value, new)
        return Score(new, score.base, (*score.adjustments, adjustment))


def _readable(feature: str) -> str:
    kind, _, name = feature.partition(":")
    if kind in ("word", "pair"):
        return f"'{name}'"
    return f"cue {name}" if kind == "cue" else f"agent {name}"


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
        if not isinstance(name, str) or not name.startswith((CUE, AGENT, WORD, PAIR)):
            issues.append(Issue(where(file, node, name), f"mood_model weights: {name!r} is not a feature name; "
                                f"names start with {CUE!r}, {AGENT!r}, {WORD!r} or {PAIR!r}"))
        elif isinstance(weight, bool) or not isinstance(weight, int | float):
            issues.append(Issue(value_where(file, node, name),
                                f"mood_model weights: the weight of {name!r} must be a number"))
        else:
            weights[name] = float(weight)
    if "threshold" in values and not 0 < float(values["threshold"]) < 1:
        issues.append(Issue(value_where(file, data["mood_model"], "threshold"),
                            "mood_model threshold must lie between 0 and 1"))
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
        threshold=float(values.get("threshold", 0.5)), reach=float(values.get("reach", 1.0)),
        about=str(values.get("about", "")),
        trained_on=dict(values.get("trained_on") or {}), source=file,
    )
