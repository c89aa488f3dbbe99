"""Scoring the engine against labelled conversations (`assist eval`, the corpus tests).

A labelled conversation is a contract JSONL file whose `start` event carries
`expect` and whose customer messages carry `mood_label` (docs/labelled-data.md).
Everything is computed from the same records the live server would push.
"""

from __future__ import annotations

import json
from collections import Counter
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .engine import Engine
from .errors import LabelError, Location
from .moodcauses import DeciderTally, MoodCall, decider_tallies, error_causes, mood_call
from .phrasebook import Phrasebook
from .replay import replay
from .sentiment import VaderBase, mood_of

NEGATIVE_PROMPTS = frozenset({
    "let-them-vent", "no-excuses", "be-firm", "draw-out", "chronic-patience", "empathize", "apologize",
    "dont-pass-buck", "dont-argue", "move-to-solution", "escalation-risk", "take-a-break",
})
MOODS = ("upset", "neutral", "positive")
TYPES = ("meek", "aggressive", "vip", "ripoff", "chronic", None)


@dataclass
class Labelled:
    path: Path
    conversation: str
    events: list[dict[str, Any]]
    expect: dict[str, Any]


@dataclass
class ConversationResult:
    conversation: str
    path: str
    expected_type: str | None
    predicted_type: str | None
    calm: bool
    hits: list[str] = field(default_factory=list)
    misses: list[dict[str, Any]] = field(default_factory=list)
    false_alarms: list[dict[str, Any]] = field(default_factory=list)
    unlisted: list[str] = field(default_factory=list)
    mood_calls: list[MoodCall] = field(default_factory=list)  # each labelled customer turn: label, calls, why
    fired: list[dict[str, Any]] = field(default_factory=list)

    @property
    def moods(self) -> list[tuple[str, str, str, str]]:
        """(label, ours, bare VADER, text) for each labelled customer turn."""
        return [(c.label, c.ours, c.vader, c.text) for c in self.mood_calls]


@dataclass
class Report:
    results: list[ConversationResult]

    # -- prompts -----------------------------------------------------------------
    @property
    def expected_prompts(self) -> int:
        return sum(len(r.hits) + len(r.misses) for r in self.results)

    @property
    def recall(self) -> float:
        total = self.expected_prompts
        return sum(len(r.hits) for r in self.results) / total if total else 1.0

    @property
    def false_alarms(self) -> int:
        return sum(len(r.false_alarms) for r in self.results)

    @property
    def calm_with_negative(self) -> list[str]:
        return [r.conversation for r in self.results
                if r.calm and any(f["prompt"] in NEGATIVE_PROMPTS for f in r.false_alarms)]

    def per_prompt(self) -> dict[str, dict[str, int]]:
        table: dict[str, Counter[str]] = {}
        for r in self.results:
            for p in r.hits:
                table.setdefault(p, Counter())["hit"] += 1
            for m in r.misses:
                table.setdefault(m["prompt"], Counter())["miss"] += 1
                if m.get("held_back"):  # its condition held, but a cooldown, cap or the budget held it back
                    table[m["prompt"]]["held_back"] += 1
            for f in r.false_alarms:
                table.setdefault(f["prompt"], Counter())["false_alarm"] += 1
            for u in r.unlisted:
                table.setdefault(u, Counter())["unlisted"] += 1
            for f in r.fired:
                table.setdefault(f["prompt"], Counter())["fired"] += 1
        return {k: dict(v) for k, v in sorted(table.items())}

    # -- mood ----------------------------------------------------------------------
    def mood_pairs(self, which: int) -> list[tuple[str, str]]:
        return [(m[0], m[which]) for r in self.results for m in r.moods]

    def mood_accuracy(self, which: int = 1) -> float:
        pairs = self.mood_pairs(which)
        return sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0

    def mood_sign_accuracy(self, which: int = 1) -> float:
        """Upset vs not upset: the call the panel makes."""
        pairs = self.mood_pairs(which)
        return sum((a == "upset") == (b == "upset") for a, b in pairs) / len(pairs) if pairs else 1.0

    def mood_errors(self) -> list[MoodCall]:
        """The customer turns whose upset-or-not call the labels disagree with."""
        return [c for r in self.results for c in r.mood_calls if not c.right]

    def mood_error_causes(self) -> dict[str, Counter[str]]:
        """Wrong upset-or-not calls by what decided them (moodcauses.py)."""
        return error_causes(c for r in self.results for c in r.mood_calls)

    def mood_deciders(self) -> list[DeciderTally]:
        """Each cue (and the mood model) that decided calls: how many the labels agree with."""
        return decider_tallies(c for r in self.results for c in r.mood_calls)

    def mood_confusion(self, which: int = 1) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {m: Counter() for m in MOODS}
        for label, got in self.mood_pairs(which):
            table[label][got] += 1
        return table

    # -- type ----------------------------------------------------------------------
    def type_pairs(self, labelled_only: bool = True) -> list[tuple[str | None, str | None]]:
        return [(r.expected_type, r.predicted_type) for r in self.results
                if r.expected_type is not None or not labelled_only]

    def type_accuracy(self, labelled_only: bool = True) -> float:
        pairs = self.type_pairs(labelled_only)
        return sum(a == b for a, b in pairs) / len(pairs) if pairs else 1.0

    def type_confusion(self) -> dict[str, Counter[str]]:
        table: dict[str, Counter[str]] = {str(t): Counter() for t in TYPES}
        for label, got in self.type_pairs(labelled_only=False):
            table[str(label)][str(got)] += 1
        return table


def load_labelled(paths: list[Path]) -> list[Labelled]:
    """Labelled conversations under `paths`; a label that cannot be scored raises LabelError."""
    files: list[Path] = []
    for p in paths:
        files.extend(sorted(p.rglob("*.jsonl")) if p.is_dir() else [p])
    out = []
    for f in files:
        events: list[dict[str, Any]] = []
        start: dict[str, Any] | None = None
        for number, line in enumerate(f.read_text(encoding="utf-8").splitlines(), 1):
            if not line.strip():
                continue
            try:
                event = json.loads(line)
            except json.JSONDecodeError as exc:
                raise LabelError(Location(str(f), number, exc.colno), f"not JSON: {exc.msg}") from exc
            if not isinstance(event, dict):
                raise LabelError(Location(str(f), number), "each line must be a JSON object (an event)")
            _check_labels(event, Location(str(f), number))
            if start is None and event.get("type") == "start" and "expect" in event:
                start = event
                # a prompt id alone: expected anywhere in the conversation
                prompts = event["expect"].get("prompts", [])
                event["expect"]["prompts"] = [{"prompt": w} if isinstance(w, str) else w for w in prompts]
            events.append(event)
        if start is not None:
            out.append(Labelled(f, start["conversation"], events, start["expect"]))
    return out


def _check_labels(event: dict[str, Any], where: Location) -> None:
    """The label fields of one event, as docs/labelled-data.md describes them."""
    mood = event.get("mood_label")
    if mood is not None and mood not in MOODS:
        raise LabelError(where, f"mood_label {mood!r} is not one of {', '.join(MOODS)}")
    if "expect" not in event:
        return
    expect = event["expect"]
    if not isinstance(expect, dict):
        raise LabelError(where, "expect must be an object: {type, calm, prompts, never}")
    if expect.get("type") not in TYPES:
        raise LabelError(where, f"expect.type {expect.get('type')!r} is not one of "
                                f"{', '.join(str(t) for t in TYPES[:-1])} or null")
    prompts = expect.get("prompts", [])
    if not isinstance(prompts, list):
        raise LabelError(where, "expect.prompts must be a list")
    for i, want in enumerate(prompts):
        if isinstance(want, str):  # a prompt id alone: expected anywhere in the conversation
            continue
        if not (isinstance(want, dict) and isinstance(want.get("prompt"), str)
                and isinstance(want.get("event", 0), int) and isinstance(want.get("slack", 1), int)):
            raise LabelError(where, f"expect.prompts[{i}] must be a prompt id or an object like "
                                    f'{{"prompt": "be-firm", "event": 5, "slack": 1}}, got {json.dumps(want)}')
    never = expect.get("never", [])
    if not (isinstance(never, list) and all(isinstance(n, str) for n in never)):
        raise LabelError(where, 'expect.never must be a list of prompt ids, e.g. ["no-excuses"]')


def evaluate(phrasebook: Phrasebook, labelled: list[Labelled], vader: VaderBase | None = None) -> Report:
    vader = vader or VaderBase()
    results = []
    for item in labelled:
        engine = Engine(phrasebook)
        engine.held = []  # the moments a prompt's condition held but it was held back: why some misses
        lines = [(n, json.dumps(e)) for n, e in enumerate(item.events, 1)]
        records = [r for _, recs in replay(engine, lines) for r in recs]
        results.append(_score(item, records, vader, engine.held or ()))
    return Report(results)


def _score(item: Labelled, records: list[dict[str, Any]], vader: VaderBase,
           held: Sequence[Mapping[str, Any]] = ()) -> ConversationResult:
    expect = item.expect
    conv_records = [r for r in records if r.get("conversation") == item.conversation]
    turns = [r for r in conv_records if r["kind"] == "turn"]
    fired = [r for r in conv_records if r["kind"] == "prompt" and r.get("mode") != "shadow"]
    last_customer = next((t for t in reversed(turns) if t["role"] == "customer"), None)
    ctype = last_customer["customer_type"]["label"] if last_customer and last_customer["customer_type"] else None
    result = ConversationResult(item.conversation, str(item.path), expect.get("type"), ctype,
                                bool(expect.get("calm")), fired=fired)
    used: set[str] = set()
    for want in expect.get("prompts", []):
        slack = int(want.get("slack", 1))
        near = [f for f in fired if f["prompt"] == want["prompt"]  # no "event": anywhere in the chat
                and ("event" not in want or abs(f["event"] - int(want["event"])) <= slack)]
        match = next((f for f in near if f["id"] not in used), near[0] if near else None)
        if match is not None:
            used.add(match["id"])
            result.hits.append(want["prompt"])
        else:
            back = next((h["reason"] for h in held if h["prompt"] == want["prompt"] and h.get("mode") != "shadow"
                         and ("event" not in want or abs(h["event"] - int(want["event"])) <= slack)), None)
            result.misses.append({**want, "held_back": back} if back else want)
    never = set(expect.get("never", []))
    if result.calm:
        never |= NEGATIVE_PROMPTS
    expected_ids = {w["prompt"] for w in expect.get("prompts", [])}
    for f in fired:
        if f["prompt"] in never and f["prompt"] not in expected_ids:
            result.false_alarms.append({"prompt": f["prompt"], "event": f["event"], "text": f["text"]})
        elif f["id"] not in used and f["prompt"] not in expected_ids:
            result.unlisted.append(f["prompt"])
    by_index = {t["event"]: t for t in turns}
    index = 0
    for event in item.events:
        # the contract index of each accepted event, to pair labels with turn records
        if event.get("type") == "message" and event.get("role") == "customer" and "mood_label" in event:
            turn = by_index.get(index)
            if turn is not None:
                bare = mood_of(vader.whole(event["text"]))
                result.mood_calls.append(mood_call(item.conversation, index, event["text"], event["mood_label"],
                                                   turn, bare))
        index += 1
    return result


@dataclass
class GroundTruth:
    name: str
    items: int
    ours: float
    vader: float

    @property
    def loss(self) -> float:
        return self.vader - self.ours


def pearson(xs: list[float], ys: list[float]) -> float:
    n = len(xs)
    if n < 2:
        return 0.0
    mx, my = sum(xs) / n, sum(ys) / n
    sxy = sum((x - mx) * (y - my) for x, y in zip(xs, ys, strict=True))
    sxx = sum((x - mx) ** 2 for x in xs)
    syy = sum((y - my) ** 2 for y in ys)
    return sxy / (sxx * syy) ** 0.5 if sxx and syy else 0.0


def ground_truth(phrasebook: Phrasebook, path: Path, vader: VaderBase | None = None) -> GroundTruth:
    """Pearson r against VADER's human ratings, each line fed as a one-message customer chat."""
    import html

    vader = vader or VaderBase()
    engine = Engine(phrasebook)
    ratings: list[float] = []
    ours: list[float] = []
    bare: list[float] = []
    for n, line in enumerate(path.read_text(encoding="utf-8").splitlines()):
        parts = line.rstrip("\r").split("\t")
        if len(parts) < 3:
            continue
        text = html.unescape(parts[2])
        cid = f"gt-{n}"
        records = engine.feed({"conversation": cid, "type": "message", "ts": 0, "role": "customer", "text": text})
        engine.forget(cid)
        turn = next((r for r in records if r["kind"] == "turn"), None)
        if turn is None:
            continue
        ratings.append(float(parts[1]))
        ours.append(turn["sentiment"])
        bare.append(vader.whole(text))
    return GroundTruth(path.stem, len(ratings), pearson(ours, ratings), pearson(bare, ratings))


