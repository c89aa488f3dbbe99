"""Backtest: what a phrasebook change would have done on recorded conversations.

Both phrasebooks replay the same contract events (exactly as `assist replay` and the
live server run them). Per conversation, the prompts of each entry id are paired in
order: the same event on both sides is unchanged, a pair at different events has
*moved*, what is left over was *added* (only the new book fires it) or *removed*.
Each change carries the turns around it, so a supervisor can judge it. A cue edit also moves
mood calls: each customer turn whose upset-or-not call differs between the books is listed
with the step that decided the new call (moodcauses.py) and, where the turn carries a
`mood_label` (our labelled files do), whether the change fixed or broke it.

Sans-IO: conversations come in as lists of event objects; nothing here reads files.
"""

from __future__ import annotations

from collections import Counter, defaultdict
from collections.abc import Iterable, Mapping
from dataclasses import dataclass, field
from typing import Any

from .engine import Engine
from .moodcauses import decided_by
from .phrasebook import Phrasebook

CONTEXT_TURNS = 2


@dataclass(frozen=True)
class Fired:
    prompt: str
    event: int
    ts: float
    mode: str
    severity: str
    text: str


@dataclass(frozen=True)
class Change:
    kind: str          # added | removed | moved
    conversation: str
    prompt: str
    old_event: int | None
    new_event: int | None
    text: str
    mode: str
    context: tuple[dict[str, Any], ...]

    def to_json(self) -> dict[str, Any]:
        return {"kind": self.kind, "conversation": self.conversation, "prompt": self.prompt,
                "old_event": self.old_event, "new_event": self.new_event, "text": self.text, "mode": self.mode,
                "context": list(self.context)}


@dataclass(frozen=True)
class TurnCall:
    """One customer turn's upset-or-not call on one side, and the step that decided it."""
    upset: bool
    sentiment: float
    decided_by: str


def call_word(upset: bool) -> str:
    """A turn's call as the backtest writes it."""
    return "upset" if upset else "not upset"


@dataclass(frozen=True)
class MoodChange:
    conversation: str
    event: int
    text: str
    old: TurnCall
    new: TurnCall
    label: str | None  # the turn's mood_label, when the file has one

    @property
    def verdict(self) -> str | None:
        """fixed | broken against the label; None for an unlabelled turn."""
        if self.label is None:
            return None
        return "fixed" if self.new.upset == (self.label == "upset") else "broken"

    def to_json(self) -> dict[str, Any]:
        return {"conversation": self.conversation, "event": self.event, "text": self.text,
                "old": call_word(self.old.upset), "new": call_word(self.new.upset),
                "old_sentiment": self.old.sentiment, "new_sentiment": self.new.sentiment,
                "decided_by": self.new.decided_by, "label": self.label, "verdict": self.verdict}


@dataclass
class Side:
    """What one phrasebook did to the conversations: its prompts, and each customer turn's call by event."""
    prompts: dict[str, list[Fired]] = field(default_factory=dict)
    moods: dict[str, dict[int, TurnCall]] = field(default_factory=dict)


@dataclass
class Backtest:
    conversations: int = 0
    events: int = 0
    old_prompts: Counter[str] = field(default_factory=Counter)
    new_prompts: Counter[str] = field(default_factory=Counter)
    changes: list[Change] = field(default_factory=list)
    customer_turns: int = 0
    mood_changes: list[MoodChange] = field(default_factory=list)

    def mood_summary(self) -> dict[str, int]:
        """How many calls changed, which way, and (labelled turns) fixed or broken."""
        c = self.mood_changes
        return {"customer_turns": self.customer_turns, "changed": len(c),
                "to_upset": sum(m.new.upset for m in c), "to_calm": sum(not m.new.upset for m in c),
                "fixed": sum(m.verdict == "fixed" for m in c), "broken": sum(m.verdict == "broken" for m in c)}

    def by_prompt(self) -> list[dict[str, Any]]:
        """One summary row per entry id that fired on either side."""
        kinds: dict[str, Counter[str]] = defaultdict(Counter)
        touched: dict[str, set[str]] = defaultdict(set)
        for c in self.changes:
            kinds[c.prompt][c.kind] += 1
            touched[c.prompt].add(c.conversation)
        rows = []
        for prompt in sorted(set(self.old_prompts) | set(self.new_prompts)):
            k = kinds[prompt]
            rows.append({"prompt": prompt, "old": self.old_prompts[prompt], "new": self.new_prompts[prompt],
                         "added": k["added"], "removed": k["removed"], "moved": k["moved"],
                         "conversations": len(touched[prompt])})
        return rows

    def to_json(self) -> dict[str, Any]:
        return {"conversations": self.conversations, "events": self.events, "summary": self.by_prompt(),
                "changes": [c.to_json() for c in self.changes], "moods": self.mood_summary(),
                "mood_changes": [m.to_json() for m in self.mood_changes]}


def replay_side(book: Phrasebook, conversations: Mapping[str, list[dict[str, Any]]]) -> Side:
    """Every prompt (shadow ones too) each conversation gets from `book`, replay semantics, and
    each customer turn's mood call."""
    engine = Engine(book)
    side = Side({cid: [] for cid in conversations}, {cid: {} for cid in conversations})
    for cid, events in conversations.items():
        for event in events:
            for rec in engine.feed(event):
                if rec["kind"] == "prompt":
                    side.prompts[cid].append(_fired(rec))
                elif rec["kind"] == "turn" and rec["role"] == "customer" and rec["conversation"] == cid:
                    side.moods[cid][rec["event"]] = TurnCall(rec["mood"] == "upset", rec["sentiment"],
                                                             decided_by(rec["evidence"])[0])
        for rec in engine.finish():
            if rec["kind"] == "prompt":
                side.prompts[rec["conversation"]].append(_fired(rec))
        engine.forget(cid)
    return side


def _fired(rec: Mapping[str, Any]) -> Fired:
    return Fired(rec["prompt"], rec["event"], rec["ts"], rec.get("mode", "live"), rec["severity"], rec["text"])


def compare(conversations: Mapping[str, list[dict[str, Any]]], old_side: Side, new_side: Side) -> Backtest:
    result = Backtest(conversations=len(conversations), events=sum(len(e) for e in conversations.values()))
    old, new = old_side.prompts, new_side.prompts
    for cid, events in conversations.items():
        result.customer_turns += len(new_side.moods.get(cid, {}))
        result.mood_changes.extend(_mood_changes(cid, events, old_side.moods.get(cid, {}),
                                                 new_side.moods.get(cid, {})))
        before, after = old.get(cid, []), new.get(cid, [])
        result.old_prompts.update(f.prompt for f in before)
        result.new_prompts.update(f.prompt for f in after)
        for prompt in sorted({f.prompt for f in [*before, *after]}):
            a = [f for f in before if f.prompt == prompt]
            b = [f for f in after if f.prompt == prompt]
            same = {f.event for f in a} & {f.event for f in b}
            a = [f for f in a if f.event not in same]
            b = [f for f in b if f.event not in same]
            for x, y in zip(a, b, strict=False):
                result.changes.append(_change("moved", cid, y, x.event, y.event, events))
            for x in a[len(b):]:
                result.changes.append(_change("removed", cid, x, x.event, None, events))
            for y in b[len(a):]:
                result.changes.append(_change("added", cid, y, None, y.event, events))
    result.changes.sort(key=lambda c: (c.conversation, c.new_event if c.new_event is not None else c.old_event or 0))
    return result


def _mood_changes(cid: str, events: list[dict[str, Any]], old: Mapping[int, TurnCall],
                  new: Mapping[int, TurnCall]) -> Iterable[MoodChange]:
    """The customer turns whose upset-or-not call differs, with the text and label of each."""
    changed = {e for e, call in new.items() if e in old and old[e].upset != call.upset}
    if not changed:
        return
    for position, event in _indexed(events):
        if position in changed:
            label = event.get("mood_label")
            yield MoodChange(cid, position, str(event.get("text"))[:280], old[position], new[position],
                             label if isinstance(label, str) else None)


def _change(kind: str, cid: str, fired: Fired, old_event: int | None, new_event: int | None,
            events: list[dict[str, Any]]) -> Change:
    at = new_event if new_event is not None else old_event or 0
    return Change(kind, cid, fired.prompt, old_event, new_event, fired.text, fired.mode,
                  tuple(_context(events, at)))


def _context(events: list[dict[str, Any]], index: int) -> Iterable[dict[str, Any]]:
    """The messages up to and at contract index `index` (the last CONTEXT_TURNS + 1)."""
    messages = [{"event": position, "role": event.get("role"), "text": str(event.get("text"))[:280]}
                for position, event in _indexed(events) if event.get("type") == "message" and position <= index]
    return messages[-(CONTEXT_TURNS + 1):]


def _indexed(events: list[dict[str, Any]]) -> Iterable[tuple[int, dict[str, Any]]]:
    """Each event of a conversation with its contract index (what a record's `event` says)."""
    position = 0
    for event in events:
        if not isinstance(event, dict) or event.get("conversation") is None:
            continue
        yield position, event
        position += 1


def backtest(old: Phrasebook, new: Phrasebook, conversations: Mapping[str, list[dict[str, Any]]]) -> Backtest:
    return compare(conversations, replay_side(old, conversations), replay_side(new, conversations))


def group_by_conversation(events: Iterable[dict[str, Any]]) -> dict[str, list[dict[str, Any]]]:
    out: dict[str, list[dict[str, Any]]] = defaultdict(list)
    for event in events:
        cid = event.get("conversation")
        if isinstance(cid, str):
            out[cid].append(event)
    return dict(out)
