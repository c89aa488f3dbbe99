"""The state of one conversation, kept in one place.

Rules of this state
-------------------
* `next_index` is the contract's `event` index: every accepted event takes the next
  one, `start` included; ignored duplicates and rejected events take none.
* `latest_ts` never goes back; an event with an older `ts` is raised to it.
* Clocks: `hold_since` is the time the customer was put on hold (a `hold start`, or
  an agent message with an implicit-hold cue such as "one moment") or last given an
  update during that hold. Any agent message during an explicit hold is an update
  (the clock restarts); during an implicit hold, an agent message without a hold cue
  ends it. `waiting_since` is the time of the first customer message the agent has
  not answered yet. `end` stops both.
* `timer_last` remembers, per timer entry, the clock start it belongs to and when it
  last came due, so a repeating timer fires `after`, then every `every` seconds,
  until its clock restarts or stops.
* Only the last `RECENT_TURNS` turns are kept (for evidence and snapshots); counters
  and the trend summarise the whole conversation, so memory stays flat.
"""

from __future__ import annotations

from collections import Counter, deque
from dataclasses import dataclass, field
from typing import Any

from .events import AgentRef, CustomerProfile
from .moodmodel import Earlier
from .profile import Profiler, TypeRules
from .trend import Trend

RECENT_TURNS = 12
QUOTE_CHARS = 280
MAX_SEEN_IDS = 4096


@dataclass(slots=True)
class Turn:
    event: int
    ts: float
    role: str
    text: str
    sentiment: float
    mood: str
    cues: frozenset[str]
    words: int

    def to_json(self) -> dict[str, Any]:
        return {"event": self.event, "ts": self.ts, "role": self.role, "text": self.text,
                "sentiment": round(self.sentiment, 4), "mood": self.mood, "cues": sorted(self.cues)}


@dataclass(slots=True)
class Clocks:
    hold: float | None
    waiting: float | None


@dataclass(slots=True)
class Counts:
    customer: int = 0
    agent: int = 0


@dataclass
class Conversation:
    id: str
    types: TypeRules
    profile: CustomerProfile = field(default_factory=CustomerProfile)
    agent: AgentRef | None = None
    channel: str | None = None
    started: bool = False
    ended: bool = False
    outcome: str | None = None
    next_index: int = 0
    latest_ts: float | None = None
    seen_ids: set[str] = field(default_factory=set)
    turns: deque[Turn] = field(default_factory=lambda: deque(maxlen=RECENT_TURNS))
    last_customer: Turn | None = None
    last_agent: Turn | None = None
    counts: Counts = field(default_factory=Counts)
    customer_said: Counter[str] = field(default_factory=Counter)
    agent_said: Counter[str] = field(default_factory=Counter)
    customer_said_since: Counter[str] = field(default_factory=Counter)
    agent_said_since: Counter[str] = field(default_factory=Counter)
    quotes: dict[str, tuple[int, str]] = field(default_factory=dict)
    trend: Trend = field(default_factory=Trend)
    earlier: Earlier = field(default_factory=Earlier)  # the cue layer's reading of earlier customer turns
    profiler: Profiler | None = None
    hold_since: float | None = None
    hold_explicit: bool = False
    waiting_since: float | None = None
    timer_last: dict[str, tuple[float, float]] = field(default_factory=dict)
    fired: Counter[str] = field(default_factory=Counter)
    last_fired: dict[str, float] = field(default_factory=dict)
    recent_prompts: deque[float] = field(default_factory=lambda: deque(maxlen=16))
    prompt_count: int = 0
    prompts: dict[str, str] = field(default_factory=dict)      # instance id -> entry id
    feedback: dict[str, str] = field(default_factory=dict)     # instance id -> verdict
    scheduled: float | None = None

    def __post_init__(self) -> None:
        if self.profiler is None:
            self.profiler = Profiler(self.types)

    # -- indices and time -------------------------------------------------------
    def take_index(self) -> int:
        index = self.next_index
        self.next_index += 1
        return index

    @property
    def last_index(self) -> int:
        return self.next_index - 1

    def remember_id(self, event_id: str) -> None:
        if len(self.seen_ids) >= MAX_SEEN_IDS:
            self.seen_ids.clear()  # bounded memory; retries come soon after the original
        self.seen_ids.add(event_id)

    def clocks_at(self, now: float) -> Clocks:
        return Clocks(
            hold=None if self.hold_since is None else max(0.0, now - self.hold_since),
            waiting=None if self.waiting_since is None else max(0.0, now - self.waiting_since),
        )

    # -- turns ---------------------------------------------------------------------
    def add_turn(self, turn: Turn, quotes: dict[str, str], hold_cues: frozenset[str]) -> None:
        self.turns.append(turn)
        for cue, quote in quotes.items():
            self.quotes[cue] = (turn.event, quote[:QUOTE_CHARS])
        if turn.role == "customer":
            self.counts.customer += 1
            self.last_customer = turn
            self.customer_said.update(turn.cues)
            self.customer_said_since.update(turn.cues)
            self.agent_said_since.clear()
            self.trend.add(turn.sentiment)
            if self.waiting_since is None:
                self.waiting_since = turn.ts
        else:
            self.counts.agent += 1
            self.last_agent = turn
            self.agent_said.update(turn.cues)
            self.agent_said_since.update(turn.cues)
            self.customer_said_since.clear()
            self.waiting_since = None
            implicit = bool(turn.cues & hold_cues)
            if self.hold_explicit or implicit:
                self.hold_since = turn.ts  # put on hold, or updated during one
            else:
                self.hold_since = None

    def set_hold(self, state: str, ts: float) -> None:
        if state == "start":
            self.hold_since, self.hold_explicit = ts, True
        else:
            self.hold_since, self.hold_explicit = None, False

    def close(self, outcome: str | None) -> None:
        self.ended, self.outcome = True, outcome
        self.hold_since = self.waiting_since = None
        self.hold_explicit = False
        self.timer_last.clear()

    def clock_start(self, timer: str) -> float | None:
        return self.hold_since if timer == "hold" else self.waiting_since
