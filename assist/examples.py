"""Running the examples that phrasebook entries carry (`assist check`, tests).

An example is a short chat written as steps (`customer:`, `agent:`, `wait:`, `hold:`,
`end:`, and `profile:` first). It runs through a fresh `Engine` with the whole
phrasebook, exactly as live traffic would, 10 s of virtual time per message; `wait`
advances the clock and fires due timers. A `fire` example passes when the entry
fires somewhere in it; a `silent` example when the entry never fires.
"""

from __future__ import annotations

from typing import Any

from .engine import Engine, Record
from .errors import Issue
from .phrasebook import Entry, Example, Phrasebook

STEP_SECONDS = 10.0


def example_events(example: Example, conversation: str = "example") -> list[dict[str, Any] | tuple[str, float]]:
    """The contract events of an example; `("tick", t)` marks a clock advance."""
    profile: dict[str, Any] = {}
    out: list[dict[str, Any] | tuple[str, float]] = []
    ts = 0.0
    for key, value in example.steps:
        if key == "profile":
            profile = dict(value)
            continue
        if not out:
            out.append({"conversation": conversation, "type": "start", "ts": 0.0,
                        "customer": profile, "agent": {"id": "example-agent"}})
        if key in ("customer", "agent"):
            ts += STEP_SECONDS
            out.append({"conversation": conversation, "type": "message", "ts": ts, "role": key, "text": value})
        elif key == "wait":
            ts += float(value)
            out.append(("tick", ts))
        elif key == "hold":
            ts += 1.0
            out.append({"conversation": conversation, "type": "hold", "ts": ts, "state": value})
        elif key == "end":
            ts += 1.0
            end: dict[str, Any] = {"conversation": conversation, "type": "end", "ts": ts}
            if value:
                end["outcome"] = value
            out.append(end)
    return out


def run_example(phrasebook: Phrasebook, example: Example, engine: Engine | None = None) -> list[Record]:
    engine = engine or Engine(phrasebook)
    records: list[Record] = []
    for item in example_events(example):
        if isinstance(item, tuple):
            records.extend(engine.tick(item[1]))
        else:
            records.extend(engine.feed(item))
    return records


def check_entry(phrasebook: Phrasebook, entry: Entry, engine: Engine) -> list[Issue]:
    issues = []
    for kind, examples in (("fire", entry.fire_examples), ("silent", entry.silent_examples)):
        for n, example in enumerate(examples, 1):
            engine.forget("example")
            records = run_example(phrasebook, example, engine)
            errors = [r["message"] for r in records if r["kind"] == "error"]
            fired = [r for r in records if r["kind"] == "prompt" and r["prompt"] == entry.id]
            if errors:
                issues.append(Issue(example.where, f"entry {entry.id!r}: {kind} example {n} is not a valid chat: "
                                                   f"{errors[0]}"))
            elif kind == "fire" and not fired:
                shown = sorted({r["prompt"] for r in records if r["kind"] == "prompt"})
                also = f" (it fired: {', '.join(shown)})" if shown else ""
                issues.append(Issue(example.where, f"entry {entry.id!r}: fire example {n} does not fire it{also}"))
            elif kind == "silent" and fired:
                issues.append(Issue(example.where, f"entry {entry.id!r}: silent example {n} fires it at event "
                                                   f"{fired[0]['event']}"))
    return issues


def check_examples(phrasebook: Phrasebook) -> tuple[list[Issue], int]:
    """Issues for every cue and entry example that goes the wrong way; and how many ran."""
    issues = phrasebook.cues.check_examples()
    engine = Engine(phrasebook)
    count = sum(len(c.match_examples) + len(c.no_match_examples) for c in phrasebook.cues.cues.values())
    for entry in phrasebook.entries:
        if not entry.enabled:
            continue
        issues.extend(check_entry(phrasebook, entry, engine))
        count += len(entry.fire_examples) + len(entry.silent_examples)
    return issues, count
