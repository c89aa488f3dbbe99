"""The sans-IO engine: contract events in, contract records out.

Theory of operation
-------------------
`Engine.feed(event)` validates one event, fires the conversation's timers that came
due at or before the event's `ts` (each with its due time), then applies the event:

* `message`: cues are detected, the turn is scored (VADER plus cue effects), the
  trend, clocks and complainer type are updated, a `turn` record is emitted and the
  phrasebook entries triggered `on` that role are evaluated;
* `hold`, `end`: clocks change and the entries `on` that trigger are evaluated;
* `draft`: entries marked `drafts: true` are evaluated on the unsent text without
  touching any state; warnings come back as prompt records with `"draft": true`;
* `feedback`: recorded against the prompt instance it names;
* `start`: sets (or, later in a chat, updates) the customer profile and the agent.

Prompts pass the alert budget: an entry's own `cooldown` and `max_per_conversation`,
then at most `budget.per_event` agent prompts per event and `budget.per_minute` per
rolling minute, most severe first. Shadow entries are evaluated and recorded (with
`"mode": "shadow"`) but take no budget; supervisor prompts take none either.

`tick(now)` fires every conversation's timers due at or before `now`; `next_due()`
says when the next one is. The engine never reads a clock: time is always the
event's `ts` or an argument, so replay and the live server give the same records.
"""

from __future__ import annotations

import heapq
import itertools
import math
from collections import Counter
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from typing import Any

from .conversation import QUOTE_CHARS, Conversation, Turn
from .cues import CueMatch, count_words
from .errors import EventError
from .events import AnyEvent, Draft, End, Feedback, Hold, Message, Start, parse_event
from .phrasebook import Entry, Phrasebook, load_phrasebook
from .sentiment import SentimentScorer, mood_of

Record = dict[str, Any]
_BLANK_TURN = Turn(event=-1, ts=0.0, role="", text="", sentiment=0.0, mood="neutral",
                   cues=frozenset(), words=0)
_EMPTY: frozenset[str] = frozenset()
BUDGET_WINDOW = 60.0
# A repeating timer that the clock has left far behind (events stamped on another clock
# than the server's, or a chat left open for days) catches up on its last MAX_CATCHUP
# repeats only, not on millions of them. Far above any real gap: replay and the live
# server fire the same prompts (max_per_conversation stops a repeat long before).
MAX_CATCHUP = 100


def error_record(message: str, *, line: int | None = None, conversation: str | None = None,
                 field: str | None = None, severity: str = "error") -> Record:
    rec: Record = {"kind": "error"}
    if line is not None:
        rec["line"] = line
    if conversation is not None:
        rec["conversation"] = conversation
    rec["message"] = message
    if field is not None:
        rec["field"] = field
    rec["severity"] = severity
    return rec


@dataclass(frozen=True, slots=True)
class Ingested:
    """What `Engine.ingest` did with one event: `status` is accepted, duplicate or rejected."""

    status: str
    event: AnyEvent | None
    index: int | None
    records: list[Record]
    ts: float = 0.0  # the time it was processed at (raised when it went back)

    @property
    def accepted(self) -> bool:
        return self.status == "accepted"

    @property
    def error(self) -> str | None:
        return next((r["message"] for r in self.records if r["kind"] == "error" and r["severity"] == "error"), None)


class Engine:
    """Turns events into `turn`, `prompt` and `error` records for many conversations."""

    def __init__(self, phrasebook: Phrasebook | None = None, *, scorer: SentimentScorer | None = None) -> None:
        self.phrasebook = phrasebook if phrasebook is not None else load_phrasebook()
        self._scorer = scorer or SentimentScorer(self.phrasebook.cues)
        self._conversations: dict[str, Conversation] = {}
        self._heap: list[tuple[float, int, str]] = []
        self._seq = itertools.count()
        self._open = 0  # conversations in memory that have not ended
        self._cue_about = {c: cue.about for c, cue in self.phrasebook.cues.cues.items()}
        # When a list: every moment an entry's condition held but the entry was held
        # back (cooldown, cap, alert budget) is noted here. `assist report` compares
        # what followed those moments with what followed the prompts that did fire.
        self.held: list[Record] | None = None

    def use_phrasebook(self, phrasebook: Phrasebook) -> None:
        """Switch to a new phrasebook (hot reload). Conversations keep their state
        (counters of cue ids the new book no longer has are simply never read);
        timers are rescheduled under the new entries."""
        self.phrasebook = phrasebook
        self._scorer = SentimentScorer(phrasebook.cues)
        self._cue_about = {c: cue.about for c, cue in phrasebook.cues.cues.items()}
        for conv in self._conversations.values():
            conv.types = phrasebook.types
            if conv.profiler is not None:
                conv.profiler.rules = phrasebook.types
            conv.scheduled = None
            self._reschedule(conv)

    # -- public API ---------------------------------------------------------------
    def feed(self, event: Mapping[str, Any] | AnyEvent, *, line: int | None = None,
             now: float | None = None) -> list[Record]:
        """Apply one event; `now` fills a missing `ts` (live server receive time)."""
        return self.ingest(event, line=line, now=now).records

    def ingest(self, event: Mapping[str, Any] | AnyEvent | Any, *, line: int | None = None,
               now: float | None = None) -> Ingested:
        """Apply one event and say what became of it (accepted, duplicate or rejected)."""
        where = f"line {line}: " if line is not None else ""
        if not isinstance(event, Start | Message | Hold | Draft | End | Feedback):
            raw: Any = dict(event) if isinstance(event, Mapping) else event
            try:
                event = parse_event(raw, default_ts=now)
            except EventError as exc:
                cid = raw.get("conversation") if isinstance(raw, dict) else None
                return Ingested("rejected", None, None, [error_record(
                    f"{where}{exc.message}", line=line, field=exc.field,
                    conversation=cid if isinstance(cid, str) else None)])
        conv = self._conversations.get(event.conversation)
        if conv is None:
            conv = self._conversations[event.conversation] = Conversation(event.conversation,
                                                                          self.phrasebook.types)
            self._open += 1
        if event.id is not None and event.id in conv.seen_ids:
            return Ingested("duplicate", event, None, [])
        if conv.ended and not isinstance(event, Feedback):
            return Ingested("rejected", event, None, [error_record(
                f"{where}conversation {conv.id!r} has ended; a {event.type!r} event after "
                "its 'end' is not processed (start a new conversation id)",
                line=line, conversation=conv.id, field="conversation")])
        if isinstance(event, Feedback) and event.prompt not in conv.prompts:
            return Ingested("rejected", event, None, [error_record(
                f"{where}feedback names prompt {event.prompt!r}, which was not shown in "
                f"conversation {conv.id!r}; use the 'id' of a prompt record",
                line=line, conversation=conv.id, field="prompt")])
        records: list[Record] = []
        ts = event.ts
        if conv.latest_ts is not None and ts < conv.latest_ts:
            records.append(error_record(
                f"{where}'ts' {ts:g} is earlier than the conversation's latest {conv.latest_ts:g}; "
                f"processed as {conv.latest_ts:g}", line=line, conversation=conv.id, field="ts",
                severity="warning"))
            ts = conv.latest_ts
        records.extend(self._fire_due(conv, ts))
        conv.latest_ts = ts
        index = conv.take_index()
        if event.id is not None:
            conv.remember_id(event.id)
        if isinstance(event, Message):
            records.extend(self._message(conv, event, ts, index))
        elif isinstance(event, Start):
            conv.started = True
            conv.profile, conv.channel = event.customer, event.channel
            conv.agent = event.agent or conv.agent
        elif isinstance(event, Hold):
            conv.set_hold(event.state, ts)
            records.extend(self._evaluate(conv, "hold", self._context(conv, "hold", None, ts), ts, index, None))
        elif isinstance(event, End):
            context = self._context(conv, "end", None, ts)
            conv.close(event.outcome)
            self._open -= 1
            context["outcome"] = event.outcome
            records.extend(self._evaluate(conv, "end", context, ts, index, None))
        elif isinstance(event, Draft):
            records.extend(self._draft(conv, event.text, ts, index))
        elif isinstance(event, Feedback):
            conv.feedback[event.prompt] = event.verdict
        self._reschedule(conv)
        return Ingested("accepted", event, index, records, ts)

    def tick(self, now: float) -> list[Record]:
        """Fire every timer due at or before `now`, in due order per conversation."""
        out: list[Record] = []
        while self._heap and self._heap[0][0] <= now:
            due, _, cid = heapq.heappop(self._heap)
            conv = self._conversations.get(cid)
            if conv is None or conv.scheduled != due:
                continue
            conv.scheduled = None
            out.extend(self._fire_due(conv, now))
            self._reschedule(conv)
        return out

    def next_due(self) -> float | None:
        """When `tick` next has something to fire, or None."""
        while self._heap:
            due, _, cid = self._heap[0]
            conv = self._conversations.get(cid)
            if conv is not None and conv.scheduled == due:
                return due
            heapq.heappop(self._heap)
        return None

    def finish(self, horizon: float | None = None) -> list[Record]:
        """End of a replayed input: fire timers due within `horizon` s of each open chat's last event."""
        span = self.phrasebook.end_horizon if horizon is None else horizon
        out: list[Record] = []
        for conv in self._conversations.values():
            if not conv.ended and conv.latest_ts is not None:
                out.extend(self._fire_due(conv, conv.latest_ts + span))
                self._reschedule(conv)
        return out

    def check_draft(self, conversation: str, text: str, now: float) -> list[Record]:
        """Warnings for an unsent agent text; changes no state."""
        conv = self._conversations.get(conversation)
        if conv is None:
            conv = Conversation(conversation, self.phrasebook.types)
        return self._draft(conv, text, now, max(conv.last_index, 0))

    def conversation(self, conversation: str) -> Conversation | None:
        return self._conversations.get(conversation)

    def conversations(self) -> Iterator[Conversation]:
        return iter(self._conversations.values())

    def forget(self, conversation: str) -> None:
        """Drop a conversation's state (after it ended and was stored)."""
        conv = self._conversations.pop(conversation, None)
        if conv is not None:
            conv.scheduled = None
            if not conv.ended:
                self._open -= 1

    @property
    def open_conversations(self) -> int:
        """How many conversations in memory have not ended."""
        return self._open

    # -- turns ------------------------------------------------------------------------
    def _analyse(self, text: str, role: str, conv: Conversation | None = None) -> tuple[
            tuple[CueMatch, ...], float, dict[str, Any]]:
        matches = self.phrasebook.cues.detect(text, role)
        score = self._scorer.score(text, matches)
        if role == "customer" and conv is not None:
            model = self.phrasebook.mood_model
            read = score.value
            if model is not None:  # the learned check of the mood call
                agent_cues = conv.last_agent.cues if conv.last_agent is not None else ()
                score = model.correct(score, text, [m.cue for m in matches], agent_cues, conv.earlier.context())
            conv.earlier.add(read)
        evidence = score.to_json()
        evidence["cues"] = [{"cue": m.cue, "quote": m.quote[:QUOTE_CHARS]} for m in matches]
        return matches, score.value, evidence

    def _message(self, conv: Conversation, event: Message, ts: float, index: int) -> list[Record]:
        matches, value, evidence = self._analyse(event.text, event.role, conv)
        cues = frozenset(m.cue for m in matches)
        turn = Turn(index, ts, event.role, event.text[:QUOTE_CHARS], value, mood_of(value), cues,
                    count_words(event.text))
        conv.add_turn(turn, {m.cue: m.quote for m in matches}, self.phrasebook.implicit_hold_cues)
        context = self._context(conv, event.role, turn, ts)
        assert conv.profiler is not None
        if event.role == "customer":
            estimate = conv.profiler.update(context, conv.customer_said, conv.quotes, self._cue_about)
            context["customer_type"] = estimate.label
            context["type_confidence"] = estimate.confidence
        record: Record = {
            "kind": "turn", "conversation": conv.id, "event": index, "ts": ts, "role": event.role,
            "sentiment": round(value, 4), "mood": turn.mood,
            "customer_type": conv.profiler.estimate.to_json(),
            "cues": [m.cue for m in matches], "evidence": evidence,
        }
        if event.role == "customer":
            record["trend"] = conv.trend.to_json()
        return [record, *self._evaluate(conv, event.role, context, ts, index, turn, matches)]

    def _draft(self, conv: Conversation, text: str, ts: float, index: int) -> list[Record]:
        entries = [e for e in self.phrasebook.by_trigger["agent"] if e.drafts]
        if not entries:
            return []
        matches, value, _ = self._analyse(text, "agent")
        turn = Turn(index, ts, "agent", text[:QUOTE_CHARS], value, mood_of(value),
                    frozenset(m.cue for m in matches), count_words(text))
        context = self._context(conv, "agent", turn, ts)
        context["agent_said"] = conv.agent_said + Counter(m.cue for m in matches)
        out = []
        for entry in entries:
            if entry.when is None or entry.when(context):
                rec = self._record(conv, entry, context, ts, index, turn, matches, instance=f"{conv.id}:d{index}")
                rec["draft"] = True
                out.append(rec)
        return out

    # -- prompts ------------------------------------------------------------------------
    def _context(self, conv: Conversation, trigger: str, turn: Turn | None, now: float) -> dict[str, Any]:
        assert conv.profiler is not None
        estimate = conv.profiler.estimate
        return {
            "trigger": trigger,
            "role": turn.role if turn else None,
            "cues": turn.cues if turn else _EMPTY,
            "sentiment": turn.sentiment if turn else 0.0,
            "mood": turn.mood if turn else "neutral",
            "words": turn.words if turn else 0,
            "last_customer": conv.last_customer or _BLANK_TURN,
            "last_agent": conv.last_agent or _BLANK_TURN,
            "trend": conv.trend,
            "customer_type": estimate.label,
            "type_confidence": estimate.confidence,
            "profile": conv.profile,
            "customer_said": conv.customer_said,
            "agent_said": conv.agent_said,
            "customer_said_since": conv.customer_said_since,
            "agent_said_since": conv.agent_said_since,
            "turns": conv.counts,
            "timers": conv.clocks_at(now),
            "outcome": conv.outcome,
            "fired": conv.fired,
        }

    def _evaluate(self, conv: Conversation, trigger: str, context: dict[str, Any], ts: float, index: int,
                  turn: Turn | None, matches: tuple[CueMatch, ...] = (),
                  entries: tuple[Entry, ...] | None = None) -> list[Record]:
        candidates = []
        held = self.held
        for entry in self.phrasebook.by_trigger[trigger] if entries is None else entries:
            reason = None
            if entry.max_per_conversation is not None and conv.fired[entry.id] >= entry.max_per_conversation:
                reason = "cap"
            last = conv.last_fired.get(entry.id)
            if reason is None and last is not None and ts - last < entry.cooldown:
                reason = "cooldown"
            if reason is not None and held is None:
                continue
            if entry.when is None or entry.when(context):
                if reason is None:
                    candidates.append(entry)
                elif held is not None:
                    held.append(self._held(conv, entry, ts, index, reason))
        if not candidates:
            return []
        candidates.sort(key=lambda e: e.rank)
        budget = self.phrasebook.budget
        while conv.recent_prompts and ts - conv.recent_prompts[0] >= BUDGET_WINDOW:
            conv.recent_prompts.popleft()
        out = []
        this_event = 0
        for entry in candidates:
            if entry.audience == "agent" and entry.mode == "live":
                if this_event >= budget.per_event or len(conv.recent_prompts) >= budget.per_minute:
                    if held is not None:
                        held.append(self._held(conv, entry, ts, index, "budget"))
                    continue
                this_event += 1
                conv.recent_prompts.append(ts)
            conv.prompt_count += 1
            instance = f"{conv.id}:p{conv.prompt_count}"
            conv.prompts[instance] = entry.id
            conv.fired[entry.id] += 1
            conv.last_fired[entry.id] = ts
            out.append(self._record(conv, entry, context, ts, index, turn, matches, instance=instance))
        return out

    def _record(self, conv: Conversation, entry: Entry, context: dict[str, Any], ts: float, index: int,
                turn: Turn | None, matches: tuple[CueMatch, ...], *, instance: str) -> Record:
        try:
            text = entry.template.render(context).strip() if entry.template is not None else entry.text
        except Exception:  # a template that fails at run time still shows its plain text
            text = entry.text
        record: Record = {
            "kind": "prompt", "id": instance, "prompt": entry.id, "conversation": conv.id, "event": index,
            "ts": ts, "severity": entry.severity, "audience": entry.audience, "text": text,
            "evidence": self._evidence(conv, entry, context, turn, matches),
        }
        if entry.mode == "shadow":
            record["mode"] = "shadow"
        if turn is None and context["trigger"] == "timer":
            record["trigger"] = "timer"
        return record

    def _evidence(self, conv: Conversation, entry: Entry, context: dict[str, Any], turn: Turn | None,
                  matches: tuple[CueMatch, ...]) -> list[dict[str, Any]]:
        items: list[dict[str, Any]] = []
        if entry.timer is not None:
            seconds = getattr(context["timers"], entry.timer)
            items.append({"timer": entry.timer, "seconds": round(seconds or 0.0, 1),
                          "why": "on hold without an update" if entry.timer == "hold" else "waiting for a reply"})
            if entry.timer == "hold" and conv.last_agent is not None:
                last = conv.last_agent
                items.append({"event": last.event, "role": "agent", "quote": last.text[:QUOTE_CHARS],
                              "why": "the agent's last message"})
        refs = entry.when.references if entry.when is not None else None
        if refs is None:
            return items
        about = self.phrasebook.cues.cues
        quotes = {m.cue: m.quote for m in matches}
        for cue in sorted(refs.cues):
            if turn is not None and cue in turn.cues:
                items.append({"event": turn.event, "role": turn.role, "cue": cue,
                              "quote": quotes.get(cue, "")[:QUOTE_CHARS], "why": about[cue].about})
        for mapping, cue in sorted(refs.said):
            said = context.get(mapping)
            if said is None:
                continue
            count = said.get(cue, 0) if isinstance(said, Mapping) else int(cue in said)
            if count:
                if turn is not None and cue in turn.cues and cue in refs.cues:
                    continue
                event, quote = conv.quotes.get(cue, (-1, ""))
                items.append({"event": event, "cue": cue, "quote": quote, "why": about[cue].about})
            elif mapping.startswith("agent_said"):
                items.append({"cue": cue, "absent": True, "why": f"the agent has not yet: {about[cue].about}"})
        facts = refs.facts
        if facts & {"sentiment", "mood"} and turn is not None:
            items.append({"event": turn.event, "role": turn.role, "sentiment": round(turn.sentiment, 3),
                          "mood": turn.mood, "why": "this turn's sentiment"})
        if any(f.startswith("last_customer") for f in facts) and conv.last_customer is not None:
            last = conv.last_customer
            items.append({"event": last.event, "role": "customer", "sentiment": round(last.sentiment, 3),
                          "mood": last.mood, "quote": last.text[:QUOTE_CHARS], "why": "the customer's last turn"})
        if any(f.startswith("trend") for f in facts):
            items.append({"trend": conv.trend.to_json(), "why": "the customer's mood over the chat"})
        if facts & {"customer_type", "type_confidence"} and context["customer_type"] is not None:
            assert conv.profiler is not None
            items.append({"customer_type": conv.profiler.estimate.to_json(), "why": "complainer type"})
        if any(f.startswith("profile") for f in facts):
            p = conv.profile
            items.append({"profile": {k: v for k, v in (("tier", p.tier), ("lifetime_value", p.lifetime_value),
                                                          ("prior_complaints", p.prior_complaints),
                                                          ("prior_refunds", p.prior_refunds)) if v},
                          "why": "customer profile"})
        timers = context["timers"]
        for name in ("hold", "waiting"):
            if f"timers.{name}" in facts and getattr(timers, name) is not None and name != entry.timer:
                items.append({"timer": name, "seconds": round(getattr(timers, name), 1),
                              "why": "on hold without an update" if name == "hold" else "waiting for a reply"})
        if "outcome" in facts:
            items.append({"outcome": context["outcome"], "why": "how the chat ended"})
        return items

    # -- timers ---------------------------------------------------------------------------
    def _next_timer(self, conv: Conversation) -> tuple[float, Entry] | None:
        best: tuple[float, Entry] | None = None
        for entry in self.phrasebook.by_trigger["timer"]:
            assert entry.timer is not None and entry.after is not None
            start = conv.clock_start(entry.timer)
            if start is None:
                continue
            last = conv.timer_last.get(entry.id)
            if last is None or last[0] != start:
                due = start + entry.after
            elif entry.every is not None:
                due = last[1] + entry.every
                if due <= last[1]:  # a clock so far out (ts >= 2**53 s) that `every` no longer moves it
                    continue
            else:
                continue
            if best is None or due < best[0]:
                best = (due, entry)
        return best

    def _fire_due(self, conv: Conversation, until: float) -> list[Record]:
        out: list[Record] = []
        while True:
            nxt = self._next_timer(conv)
            if nxt is None or nxt[0] > until:
                return out
            due, entry = nxt
            start = conv.clock_start(entry.timer or "")
            assert start is not None
            if entry.every and math.isfinite(until) and until - due > entry.every * MAX_CATCHUP:
                due += (math.floor((until - due) / entry.every) - MAX_CATCHUP) * entry.every
            conv.timer_last[entry.id] = (start, due)
            context = self._context(conv, "timer", None, due)
            out.extend(self._evaluate(conv, "timer", context, due, max(conv.last_index, 0), None,
                                      entries=(entry,)))

    @staticmethod
    def _held(conv: Conversation, entry: Entry, ts: float, index: int, reason: str) -> Record:
        return {"kind": "held", "prompt": entry.id, "conversation": conv.id, "event": index, "ts": ts,
                "reason": reason, "mode": entry.mode}

    def _reschedule(self, conv: Conversation) -> None:
        nxt = self._next_timer(conv)
        due = nxt[0] if nxt is not None else None
        if due != conv.scheduled:
            conv.scheduled = due
            if due is not None:
                heapq.heappush(self._heap, (due, next(self._seq), conv.id))
