"""Complainer types (meek, aggressive, vip, ripoff, chronic) from profile and language.

Theory of operation
-------------------
`phrasebooks/types.yaml` gives each type a score built from

* `cues`: customer cues with a weight; a cue said n times adds
  weight * (1 + 1/2 + ... + 1/2^(n-1)), so repetition counts but saturates;
* `signals`: conditions (the same language as phrasebook `when:`) over the customer
  profile, the mood trend and what was said, each with a weight and a `why`.

After every customer turn the type with the highest score is named if its score
reaches `threshold`. Once named, a type is only replaced by one that beats it by
`switch_margin` (so the badge does not flap), and `confidence` is
top / (top + runner-up + 1): one strong signal gives about 0.6-0.7, several agreeing
ones approach 0.9. Evidence lists the quotes and profile facts behind the top score.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .conditions import TYPE_LABELS, Condition, compile_condition
from .errors import ConditionError, Issue, RuleFileError
from .schema import Field, read_mapping
from .yamlsrc import find_token, load_yaml, suggest, value_where, where


@dataclass(frozen=True)
class Signal:
    when: Condition
    weight: float
    why: str


@dataclass(frozen=True)
class TypeRule:
    label: str
    about: str
    cues: dict[str, float]
    signals: tuple[Signal, ...]


@dataclass(frozen=True)
class TypeRules:
    types: dict[str, TypeRule]
    threshold: float = 1.0
    switch_margin: float = 0.5
    model: Any = None  # typemodel.TypeModel: the learned check of the profiler's call (type-model.yaml)


@dataclass(frozen=True, slots=True)
class Evidence:
    event: int
    quote: str
    why: str

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "quote": self.quote, "why": self.why}


@dataclass(slots=True)
class TypeEstimate:
    label: str | None = None
    score: float = 0.0
    confidence: float = 0.0
    evidence: tuple[Evidence, ...] = ()

    def to_json(self) -> dict[str, Any] | None:
        if self.label is None:
            return None
        return {"label": self.label, "confidence": round(self.confidence, 2),
                "evidence": [e.to_json() for e in self.evidence]}


@dataclass
class Profiler:
    """Per-conversation type estimate with hysteresis; `estimate` is the one published
    (the type model's when it overrules the profiler, see typemodel.py)."""

    rules: TypeRules
    estimate: TypeEstimate = field(default_factory=TypeEstimate)
    own: TypeEstimate = field(default_factory=TypeEstimate)  # the profiler's own call, before the model
    sums: list[float] = field(default_factory=list)  # type model weights of what was said (CLASSES order)
    words: dict[str, tuple[int, str]] = field(default_factory=dict)  # type model words: first event and turn
    sums_for: Any = field(default=None, repr=False)  # the type model `sums` were added up with

    def update(self, context: Mapping[str, Any], said: Mapping[str, int],
               quotes: Mapping[str, tuple[int, str]], about: Mapping[str, str]) -> TypeEstimate:
        self.own = self._score(context, said, quotes, about)
        model = self.rules.model
        if model is None:
            self.estimate = self.own
            return self.estimate
        turn = context.get("last_customer")
        if self.sums_for is not model:  # first turn, or the phrasebook was reloaded: add up all said so far
            self.words = {f: q for f, q in self.words.items() if f in model.vocabulary}
            if turn is not None:
                self._note_words(model.said_features((), turn.text), (turn.event, turn.text))
            self.sums = model.add_up([0.0] * len(model.biases), [*model.said_features(said, ""), *self.words])
            self.sums_for = model
        elif turn is not None:  # each cue and word counts once per chat, so a late turn costs what an early one does
            new = [f for f in model.said_features((c for c in turn.cues if said.get(c) == 1), turn.text)
                   if f not in self.words]
            self._note_words(new, (turn.event, turn.text))
            self.sums = model.add_up(self.sums, new)
        trend = context["trend"]
        state = model.state_features(context["profile"], self.own.label, trend.lowest,
                                     trend.upset_turns / max(1, trend.turns))
        self.estimate = model.check(self.estimate, self.own, state, self.sums, said, quotes, self.words)
        return self.estimate

    def _note_words(self, features: list[str], first: tuple[int, str]) -> None:
        self.words.update((f, first) for f in features if f.startswith("word:") and f not in self.words)

    def _score(self, context: Mapping[str, Any], said: Mapping[str, int],
               quotes: Mapping[str, tuple[int, str]], about: Mapping[str, str]) -> TypeEstimate:
        scores: dict[str, float] = {}
        # per type: (weight, cue id or the signal that fired); evidence is written for the top type only
        reasons: dict[str, list[tuple[float, str | Signal]]] = {}
        for label, rule in self.rules.types.items():
            total = 0.0
            why: list[tuple[float, str | Signal]] = []
            for cue, weight in rule.cues.items():
                n = said.get(cue, 0)
                if n:
                    part = weight * (2.0 - 0.5 ** (n - 1))
                    total += part
                    why.append((part, cue))
            for signal in rule.signals:
                if signal.when(context):
                    total += signal.weight
                    why.append((signal.weight, signal))
            scores[label] = total
            reasons[label] = why
        ranked = sorted(scores.items(), key=lambda kv: -kv[1])
        top, top_score = ranked[0] if ranked else (None, 0.0)
        runner_up = ranked[1][1] if len(ranked) > 1 else 0.0
        current = self.own.label
        if current is not None and top != current:
            if top_score < scores.get(current, 0.0) + self.rules.switch_margin:
                top, top_score = current, scores.get(current, 0.0)
                runner_up = max(s for k, s in scores.items() if k != current) if len(scores) > 1 else 0.0
        if top is None or top_score < self.rules.threshold:
            if current is None or scores.get(current, 0.0) < self.rules.threshold / 2:
                return TypeEstimate()
        assert top is not None
        evidence = tuple(_evidence(reason, context, quotes, about)
                         for _, reason in sorted(reasons[top], key=lambda pr: -pr[0])[:4])
        confidence = top_score / (top_score + runner_up + 1.0)
        return TypeEstimate(top, top_score, confidence, evidence)


def _evidence(reason: str | Signal, context: Mapping[str, Any], quotes: Mapping[str, tuple[int, str]],
              about: Mapping[str, str]) -> Evidence:
    """The evidence record for one reason behind a type: a cue's quote, or a signal's `why`."""
    if isinstance(reason, Signal):
        return Evidence(0, _render(reason.why, context), "profile/trend")
    event, quote = quotes.get(reason, (0, ""))
    return Evidence(event, quote, f"{reason}: {about.get(reason, reason)}")


def _render(template: str, context: Mapping[str, Any]) -> str:
    """`{profile.tier}`-style holes in a signal's `why`, filled from the context."""
    out = template
    if "{" not in out:
        return out
    import re

    def fill(m: re.Match[str]) -> str:
        value: Any = context
        for part in m.group(1).split("."):
            value = value.get(part) if isinstance(value, Mapping) else getattr(value, part, None)
        return "" if value is None else (f"{value:g}" if isinstance(value, float) else str(value))
    return re.sub(r"\{([a-z_.]+)\}", fill, out)


TOP_FIELDS = {"threshold": Field("number", minimum=0, default=1.0),
              "switch_margin": Field("number", minimum=0, default=0.5),
              "types": Field("mapping", required=True)}
TYPE_FIELDS = {"about": Field("str", required=True), "cues": Field("mapping", default={}),
               "signals": Field("list", default=[])}
SIGNAL_FIELDS = {"when": Field("str", required=True), "weight": Field("number", required=True),
                 "why": Field("str", required=True)}


def load_types(path: Path | str, cue_ids: set[str], prompt_ids: set[str],
               cue_groups: Mapping[str, tuple[str, ...]] | None = None) -> TypeRules:
    file = str(path)
    data = load_yaml(path)
    issues: list[Issue] = []
    top = read_mapping(file, data, TOP_FIELDS, issues, what="type file")
    types: dict[str, TypeRule] = {}
    for label in top.get("types", {}):
        node = data["types"][label]
        if label not in TYPE_LABELS:
            issues.append(Issue(where(file, data["types"], label),
                                f"unknown customer type {label!r}{suggest(str(label), TYPE_LABELS)}; "
                                f"the types are {', '.join(TYPE_LABELS)}"))
            continue
        values = read_mapping(file, node, TYPE_FIELDS, issues, what=f"type {label!r}")
        cue_weights: dict[str, float] = {}
        for cue, weight in (values.get("cues") or {}).items():
            if cue not in cue_ids:
                issues.append(Issue(where(file, node["cues"], cue),
                                    f"type {label!r}: unknown cue {cue!r}{suggest(str(cue), cue_ids)}"))
            elif isinstance(weight, bool) or not isinstance(weight, int | float):
                issues.append(Issue(value_where(file, node["cues"], cue),
                                    f"type {label!r}: the weight of cue {cue!r} must be a number"))
            else:
                cue_weights[cue] = float(weight)
        signals = []
        for i, raw in enumerate(values.get("signals") or []):
            s = read_mapping(file, raw, SIGNAL_FIELDS, issues, what=f"type {label!r} signal {i + 1}")
            if len(s) < 3:
                continue
            try:
                cond = compile_condition(s["when"], cue_ids=cue_ids, prompt_ids=prompt_ids, cue_groups=cue_groups)
            except ConditionError as exc:
                loc = find_token(value_where(file, raw, "when"), exc.token)
                issues.append(Issue(loc,
                                    f"type {label!r} signal {i + 1}: {exc.message}"))
                continue
            signals.append(Signal(cond, float(s["weight"]), s["why"]))
        types[label] = TypeRule(label, values.get("about", ""), cue_weights, tuple(signals))
    if issues:
        raise RuleFileError(issues)
    return TypeRules(types, float(top.get("threshold", 1.0)), float(top.get("switch_margin", 0.5)))
