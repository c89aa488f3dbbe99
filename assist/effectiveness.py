"""Which prompts help: agents' verdicts and what the customer's mood did next.

For every prompt id:

* how often it fired, and the share of those marked helpful / not helpful / dismissed;
* the *lift*: the customer's mood over the next `HORIZON` customer turns, minus their
  mood at the moment, averaged over the moments the prompt fired, compared with the
  same average over *held-back* moments: the entry's condition held but the entry
  did not fire (cooldown, cap, alert budget). Those are the closest "similar moments
  without the prompt" the data has. The difference comes with a bootstrap 95%
  interval, so a handful of chats is not over-read: an interval that spans 0 says
  "no evidence either way yet".

Sans-IO: conversations, stored prompts and feedback come in as plain data; the
conversations are replayed through the engine to read the mood turn by turn and to
find the held-back moments (`Engine.held`).
"""

from __future__ import annotations

import random
from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from .engine import Engine
from .phrasebook import Phrasebook

HORIZON = 3
RESAMPLES = 2000
VERDICTS = ("helpful", "not-helpful", "dismissed")


@dataclass
class PromptStats:
    prompt: str
    fired: int = 0
    verdicts: Counter[str] = field(default_factory=Counter)
    after_fired: list[float] = field(default_factory=list)
    after_held: list[float] = field(default_factory=list)
    lift: float | None = None
    interval: tuple[float, float] | None = None

    def rate(self, verdict: str) -> float | None:
        return self.verdicts[verdict] / self.fired if self.fired else None

    def to_json(self) -> dict[str, Any]:
        return {"prompt": self.prompt, "fired": self.fired,
                "feedback": sum(self.verdicts[v] for v in VERDICTS),
                **{v.replace("-", "_"): self.rate(v) for v in VERDICTS},
                "mood_after_fired": _mean(self.after_fired), "n_fired": len(self.after_fired),
                "mood_after_held": _mean(self.after_held), "n_held": len(self.after_held),
                "lift": self.lift, "interval": list(self.interval) if self.interval else None}


def _mean(values: Sequence[float]) -> float | None:
    return sum(values) / len(values) if values else None


def bootstrap_difference(a: Sequence[float], b: Sequence[float], *, resamples: int = RESAMPLES,
                         seed: int = 7) -> tuple[float, float] | None:
    """95% percentile interval of mean(a) - mean(b); None when either side has < 2 values."""
    if len(a) < 2 or len(b) < 2:
        return None
    rng = random.Random(seed)
    diffs = sorted(sum(rng.choices(a, k=len(a))) / len(a) - sum(rng.choices(b, k=len(b))) / len(b)
                   for _ in range(resamples))
    return diffs[int(0.025 * resamples)], diffs[int(0.975 * resamples) - 1]


def mood_change(customer_turns: Sequence[tuple[int, float]], index: int, horizon: int = HORIZON) -> float | None:
    """Mean sentiment of the next `horizon` customer turns after event `index`, minus the
    sentiment of the last customer turn at or before it; None when either is missing."""
    before = [s for e, s in customer_turns if e <= index]
    after = [s for e, s in customer_turns if e > index][:horizon]
    if not before or not after:
        return None
    return sum(after) / len(after) - before[-1]


def effectiveness(book: Phrasebook, conversations: Mapping[str, list[dict[str, Any]]],
                  prompts: Iterable[Mapping[str, Any]], feedback: Iterable[tuple[str, str]]) -> list[PromptStats]:
    """`prompts`: stored prompt records (what was shown live); `feedback`: (prompt instance id, verdict)."""
    engine = Engine(book)
    engine.held = []
    turns: dict[str, list[tuple[int, float]]] = defaultdict(list)
    for cid, events in conversations.items():
        for event in events:
            for rec in engine.feed(event):
                if rec["kind"] == "turn" and rec["role"] == "customer":
                    turns[cid].append((rec["event"], rec["sentiment"]))
        engine.forget(cid)
    stats: dict[str, PromptStats] = {}

    def of(prompt: str) -> PromptStats:
        return stats.setdefault(prompt, PromptStats(prompt))

    verdict_of = dict(feedback)
    for shown in prompts:
        if shown.get("audience") != "agent" or shown.get("mode", "live") != "live" \
                or shown["conversation"] not in turns:
            continue
        s = of(shown["prompt"])
        s.fired += 1
        if shown["id"] in verdict_of:
            s.verdicts[verdict_of[shown["id"]]] += 1
        change = mood_change(turns[shown["conversation"]], shown["event"])
        if change is not None:
            s.after_fired.append(change)
    seen: set[tuple[str, str, int]] = set()
    for held in engine.held:
        key = (held["prompt"], held["conversation"], held["event"])
        if key in seen or held["mode"] != "live":
            continue
        seen.add(key)
        change = mood_change(turns[held["conversation"]], held["event"])
        if change is not None and held["prompt"] in stats:
            stats[held["prompt"]].after_held.append(change)
    for s in stats.values():
        fired, held_mean = _mean(s.after_fired), _mean(s.after_held)
        s.lift = None if fired is None or held_mean is None else fired - held_mean
        s.interval = bootstrap_difference(s.after_fired, s.after_held)
    return sorted(stats.values(), key=lambda s: (-s.fired, s.prompt))

