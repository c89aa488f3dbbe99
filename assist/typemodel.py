"""The learned type check: a small softmax model over what the chat has shown so far.

The profiler (profile.py, phrasebooks/types.yaml) names a complainer type from cue
weights and signals. It misses customers whose type shows in plain words no cue
holds yet ("sorry for disturb", "no wahala", "it's fine, I will wait" are meek), and
it names a type in chats a reader would leave untyped. The type model is trained on
labelled conversations (`assist train-types`, development sets only). After every
customer turn it reads: the profiler's own call, the customer profile (tier, prior
complaints and refunds, lifetime value), which cues the customer has used, the words
of the customer's turns that at least a few independent authors used, the lowest
mood so far and the share of upset turns. It gives a probability to each type and to
"none".

When its top choice differs from the published type, reaches `threshold`, and beats
the published choice's probability by `switch_margin`, it replaces it (so the badge
does not flap). Its estimate quotes the turns behind the features that weighed most
for the type, and says they come from the type model; its confidence is the
probability. The weights are data (phrasebooks/type-model.yaml); without that file the
profiler's call stands.
"""

from __future__ import annotations

import math
import re
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .events import CustomerProfile
from .moodmodel import words_in
from .profile import Evidence, TypeEstimate
from .schema import Field, read_mapping
from .yamlsrc import load_yaml, value_where, where

NONE = "none"
CLASSES = ("none", "meek", "aggressive", "vip", "ripoff", "chronic")
CUE, WORD, TIER, RULES = "cue:", "word:", "tier:", "rules:"
NUMERIC = ("prior_complaints", "prior_refunds", "lifetime_value", "lowest", "upset_share")
EVIDENCE_FEATURES = 3

TOP_FIELDS = {"type_model": Field("mapping", required=True)}
MODEL_FIELDS = {
    "about": Field("str"),
    "trained_on": Field("mapping"),
    "threshold": Field("number", default=0.5),
    "switch_margin": Field("number", minimum=0, default=0.45),
    "bias": Field("mapping", required=True),
    "weights": Field("mapping", required=True),
}


def turn_words(text: str) -> set[str]:
    return {WORD + w for w in words_in(text)}


def chat_features(profile: CustomerProfile, rules_label: str | None, cues: Iterable[str], words: Iterable[str],
                  lowest: float, upset_share: float) -> dict[str, float]:
    """The features of a conversation so far, named as they are in the weights file."""
    out: dict[str, float] = {
        TIER + str(profile.tier).lower(): 1.0,
        RULES + (rules_label or NONE): 1.0,
        "prior_complaints": min(profile.prior_complaints, 10) / 10,
        "prior_refunds": min(profile.prior_refunds, 10) / 10,
        "lifetime_value": min(float(profile.lifetime_value or 0.0), 20000.0) / 20000,
        "lowest": lowest,
        "upset_share": upset_share,
    }
    for c in cues:
        out[CUE + c] = 1.0
    for w in words:
        out[w] = 1.0
    return out


@dataclass(frozen=True)
class TypeModel:
    bias: dict[str, float]
    weights: dict[str, dict[str, float]]  # feature -> class -> weight
    threshold: float = 0.5
    switch_margin: float = 0.45
    about: str = ""
    trained_on: dict[str, Any] = field(default_factory=dict)
    source: str = ""
    vocabulary: dict[str, str] = field(default_factory=dict, compare=False)  # one key string per feature
    rows: dict[str, tuple[float, ...]] = field(default_factory=dict, compare=False)  # weights in CLASSES order
    biases: tuple[float, ...] = field(default=(), compare=False)

    def __post_init__(self) -> None:
        object.__setattr__(self, "vocabulary", {f: f for f in self.weights})
        rows = {f: tuple(row.get(c, 0.0) for c in CLASSES) for f, row in self.weights.items()}
        object.__setattr__(self, "rows", rows)
        object.__setattr__(self, "biases", tuple(self.bias.get(c, 0.0) for c in CLASSES))

    def said_features(self, cues: Iterable[str], text: str) -> list[str]:
        """The cue and word features of one customer turn that this model weighs (its own key strings)."""
        vocab = self.vocabulary
        found = [CUE + c for c in cues] + list(turn_words(text))
        return [vocab[f] for f in found if f in vocab]

    def add_up(self, sums: list[float], features: Iterable[str]) -> list[float]:
        """Running per-type sums (in CLASSES order) plus the weights of yes/no features
        (each feature is added once per chat)."""
        rows = self.rows
        for f in sorted(features):  # a fixed order: float sums must not depend on set order
            sums = [a + b for a, b in zip(sums, rows[f])]
        return sums

    def state_features(self, profile: CustomerProfile, rules_label: str | None, lowest: float,
                       upset_share: float) -> dict[str, float]:
        """The features that change value during a chat, or come from the profile."""
        return chat_features(profile, rules_label, (), (), lowest, upset_share)

    def probabilities(self, features: Mapping[str, float], sums: Sequence[float] = ()) -> dict[str, float]:
        """P(type) for each class, from features and, optionally, running sums of yes/no features."""
        logits = list(sums) if sums else [0.0] * len(CLASSES)
        rows = self.rows
        for f, x in sorted(features.items()):  # a fixed order: float sums must not depend on set order
            row = rows.get(f)
            if row is not None:
                logits = [a + b * x for a, b in zip(logits, row)]
        logits = [a + b for a, b in zip(logits, self.biases)]
        top = max(logits)
        exp = [math.exp(v - top) for v in logits]
        total = sum(exp)
        return {label: e / total for label, e in zip(CLASSES, exp)}

    def check(self, published: TypeEstimate, rules: TypeEstimate, state: Mapping[str, float],
              sums: Sequence[float], cues_said: Iterable[str], cue_quotes: Mapping[str, tuple[int, str]],
              word_quotes: Mapping[str, tuple[int, str]]) -> TypeEstimate:
        """The type to publish after this turn: the model's when it disagrees with the
        profiler and is sure enough, else the profiler's. `sums` hold the weights of the
        cues and words said so far (`cues_said`, the keys of `word_quotes`); `state` the other features."""
        probs = self.probabilities(state, sums)
        label = self.choose(probs, published.label or NONE, rules.label or NONE)
        if label == (rules.label or NONE):
            return rules
        if label == NONE:
            return TypeEstimate()
        if label == published.label:  # the same call: its evidence stands (written once, at the switch)
            return TypeEstimate(label, probs[label], probs[label], published.evidence) \
                if probs[label] >= self.threshold else published
        features = dict(state)
        features.update((CUE + c, 1.0) for c in cues_said)
        features.update(dict.fromkeys(word_quotes, 1.0))
        second = max((k for k in CLASSES if k != label), key=lambda k: probs.get(k, 0.0))
        evidence = self._evidence(label, second, features, cue_quotes, word_quotes)
        return TypeEstimate(label, probs[label], probs[label], evidence)

    def choose(self, probs: Mapping[str, float], published: str, rules: str) -> str:
        """The label to show (NONE: no type): the model's first choice when the profiler
        agrees, or when it reaches `threshold` and beats the shown label by `switch_margin`;
        the shown label while it stays the model's first choice; else the profiler's."""
        best = max(CLASSES, key=lambda k: probs.get(k, 0.0))
        if best == rules:
            return rules
        if probs[best] >= self.threshold and (best == published
                                              or probs[best] >= probs.get(published, 0.0) + self.switch_margin):
            return best
        return published if best == published else rules

    def _evidence(self, label: str, second: str, features: Mapping[str, float],
                  cue_quotes: Mapping[str, tuple[int, str]],
                  word_quotes: Mapping[str, tuple[int, str]]) -> tuple[Evidence, ...]:
        """The features that most set `label` apart from the runner-up `second` (a word that
        weighs towards every type, like "no", explains nothing)."""
        rows = self.rows
        i, j = CLASSES.index(label), CLASSES.index(second)
        apart = [((rows[f][i] - rows[f][j]) * x, f) for f, x in features.items() if f in rows]
        pushing = sorted(((d, f) for d, f in apart if d > 0 and rows[f][i] > 0), reverse=True)
        out = []
        for _, f in pushing[:EVIDENCE_FEATURES]:
            kind, _, name = f.partition(":")
            if kind == "word":
                event, turn = word_quotes.get(f, (0, ""))
                why = f"type model: the word '{name}' weighs towards {label}"
                out.append(Evidence(event, _around(turn, name), why))
            elif kind == "cue":
                event, quote = cue_quotes.get(name, (0, ""))
                out.append(Evidence(event, quote, f"type model: cue {name} weighs towards {label}"))
            elif kind == "rules":
                out.append(Evidence(0, "", f"type model: the profiler's own reading ({name}) weighs towards {label}"))
            elif kind == "tier":
                out.append(Evidence(0, f"tier {name}", f"type model: the profile weighs towards {label}"))
            else:
                out.append(Evidence(0, f"{f.replace('_', ' ')} {features[f]:g}",
                                    f"type model: the profile and mood so far weigh towards {label}"))
        return tuple(out)


def _around(text: str, word: str, width: int = 60) -> str:
    """The part of a turn around a word: a quote short enough for the panel."""
    if len(text) <= width:
        return text
    found = re.search(rf"(?<![a-z0-9']){re.escape(word)}(?![a-z0-9'])", text.lower())
    if found is None:
        return text[:width].rstrip() + "\u2026"
    start = max(0, min(found.start() - width // 3, len(text) - width))
    piece = text[start:start + width].strip()
    return ("\u2026" if start > 0 else "") + piece + ("\u2026" if start + width < len(text) else "")


def load_type_model(path: Path | str, text: str | None = None, *, fast: bool = False) -> TypeModel:
    """Read a weights file; RuleFileError lists every problem with file and line."""
    file = str(path)
    data = load_yaml(path, text, fast=fast)
    if data is None:
        raise RuleFileError([Issue(Location(file), "the file is empty; expected 'type_model:'")])
    issues: list[Issue] = []
    top = read_mapping(file, data, TOP_FIELDS, issues, what="type model file")
    values = read_mapping(file, top["type_model"], MODEL_FIELDS, issues, what="type_model") \
        if "type_model" in top else {}
    node: Any = data.get("type_model") if isinstance(data, dict) else {}
    bias: dict[str, float] = {}
    for label, b in (values.get("bias") or {}).items():
        if label not in CLASSES or isinstance(b, bool) or not isinstance(b, int | float):
            issues.append(Issue(where(file, node["bias"], label), f"type_model bias: {label!r} must be one of "
                                f"{', '.join(CLASSES)} with a number"))
        else:
            bias[label] = float(b)
    weights: dict[str, dict[str, float]] = {}
    for name, row in (values.get("weights") or {}).items():
        spot = where(file, node["weights"], name)
        if not isinstance(name, str) or not (name.startswith((CUE, WORD, TIER, RULES)) or name in NUMERIC):
            issues.append(Issue(spot, f"type_model weights: {name!r} is not a feature name; names start with "
                                      f"{CUE!r}, {WORD!r}, {TIER!r} or {RULES!r}, or are one of {', '.join(NUMERIC)}"))
            continue
        if not isinstance(row, dict):
            issues.append(Issue(value_where(file, node["weights"], name),
                                f"type_model weights: {name!r} needs a mapping of type to weight"))
            continue
        parsed: dict[str, float] = {}
        for label, w in row.items():
            if label not in CLASSES or isinstance(w, bool) or not isinstance(w, int | float):
                issues.append(Issue(where(file, row, label), f"type_model weights: {name!r}: {label!r} must be one "
                                    f"of {', '.join(CLASSES)} with a number"))
            else:
                parsed[label] = float(w)
        weights[name] = parsed
    if "threshold" in values and not 0 < float(values["threshold"]) < 1:
        issues.append(Issue(value_where(file, node, "threshold"), "type_model threshold must lie between 0 and 1"))
    if issues or not values:
        raise RuleFileError(issues or [Issue(Location(file), "expected 'type_model:' with its weights")])
    return TypeModel(bias=bias, weights=weights, threshold=float(values.get("threshold", 0.5)),
                     switch_margin=float(values.get("switch_margin", 0.45)), about=str(values.get("about", "")),
                     trained_on=dict(values.get("trained_on") or {}), source=file)
