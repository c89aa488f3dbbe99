"""Input events of the contract (docs/contract.md), parsed and validated at the edge.

`parse_event` turns one decoded JSON value into a typed, frozen event or raises
`EventError` naming the field and what would be right. Everything past this module
handles typed events only. Unknown extra fields are ignored (the contract lets
producers add optional fields), so labelled data files replay unchanged.
"""

from __future__ import annotations

import math
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import Any, Literal

from .errors import EventError

MAX_TEXT_BYTES = 16 * 1024
MAX_CONVERSATION_CHARS = 128
MAX_ID_CHARS = 256

Role = Literal["customer", "agent"]
ROLES: tuple[str, ...] = ("customer", "agent")
EVENT_TYPES: tuple[str, ...] = ("start", "message", "hold", "draft", "end", "feedback")
HOLD_STATES: tuple[str, ...] = ("start", "end")
OUTCOMES: tuple[str, ...] = ("resolved", "unresolved", "escalated", "abandoned")
VERDICTS: tuple[str, ...] = ("helpful", "not-helpful", "dismissed")


@dataclass(frozen=True, slots=True)
class CustomerProfile:
    id: str | None = None
    name: str | None = None
    tier: str | None = None
    prior_complaints: int = 0
    prior_refunds: int = 0
    lifetime_value: float | None = None


@dataclass(frozen=True, slots=True)
class AgentRef:
    id: str
    name: str | None = None


@dataclass(frozen=True, slots=True)
class Event:
    conversation: str
    ts: float
    id: str | None


@dataclass(frozen=True, slots=True)
class Start(Event):
    customer: CustomerProfile = field(default_factory=CustomerProfile)
    agent: AgentRef | None = None
    channel: str | None = None
    locale: str | None = None
    type: Literal["start"] = "start"


@dataclass(frozen=True, slots=True)
class Message(Event):
    role: Role = "customer"
    text: str = ""
    type: Literal["message"] = "message"


@dataclass(frozen=True, slots=True)
class Hold(Event):
    state: Literal["start", "end"] = "start"
    type: Literal["hold"] = "hold"


@dataclass(frozen=True, slots=True)
class Draft(Event):
    text: str = ""
    type: Literal["draft"] = "draft"


@dataclass(frozen=True, slots=True)
class End(Event):
    outcome: str | None = None
    type: Literal["end"] = "end"


@dataclass(frozen=True, slots=True)
class Feedback(Event):
    prompt: str = ""
    verdict: str = "helpful"
    type: Literal["feedback"] = "feedback"


AnyEvent = Start | Message | Hold | Draft | End | Feedback


def _kind(value: Any) -> str:
    if value is None:
        return "null"
    if isinstance(value, bool):
        return "a boolean"
    if isinstance(value, int | float):
        return "a number"
    if isinstance(value, str):
        return "a string"
    if isinstance(value, list):
        return "a list"
    if isinstance(value, dict):
        return "an object"
    return type(value).__name__


def _string(obj: Mapping[str, Any], name: str, *, where: str = "", required: bool,
            max_chars: int | None = None) -> str | None:
    label = f"{where}{name}"
    if name not in obj or obj[name] is None:
        if required:
            raise EventError(f"field '{label}' is required and missing", field=label)
        return None
    value = obj[name]
    if not isinstance(value, str):
        raise EventError(f"field '{label}' must be a string, got {_kind(value)}", field=label)
    if max_chars is not None and len(value) > max_chars:
        raise EventError(f"field '{label}' must be at most {max_chars} characters, "
                         f"got {len(value)}", field=label)
    return value


def _choice(obj: Mapping[str, Any], name: str, allowed: tuple[str, ...], *, required: bool) -> str | None:
    value = _string(obj, name, required=required)
    if value is not None and value not in allowed:
        options = ", ".join(repr(a) for a in allowed)
        raise EventError(f"field '{name}' must be one of {options}, got {value!r}", field=name)
    return value


def _number(obj: Mapping[str, Any], name: str, *, where: str = "", minimum: float | None = None) -> float | None:
    label = f"{where}{name}"
    value = obj.get(name)
    if value is None:
        return None
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        raise EventError(f"field '{label}' must be a finite number, got {_kind(value)}", field=label)
    if minimum is not None and value < minimum:
        raise EventError(f"field '{label}' must be at least {minimum:g}, got {value:g}", field=label)
    return float(value)


def _count(obj: Mapping[str, Any], name: str, *, where: str) -> int:
    label = f"{where}{name}"
    value = obj.get(name)
    if value is None:
        return 0
    if isinstance(value, bool) or not isinstance(value, int) or value < 0:
        raise EventError(f"field '{label}' must be a whole number >= 0, got {value!r}", field=label)
    return value


def _text(obj: Mapping[str, Any]) -> str:
    text = _string(obj, "text", required=True)
    assert text is not None
    size = len(text.encode("utf-8", "surrogatepass"))
    if size > MAX_TEXT_BYTES:
        raise EventError(f"field 'text' is {size:,} bytes; the limit is {MAX_TEXT_BYTES:,} bytes "
                         "(16 KiB, UTF-8): split the message or trim it", field="text")
    return text


def _profile(obj: Mapping[str, Any]) -> CustomerProfile:
    raw = obj.get("customer")
    if raw is None:
        return CustomerProfile()
    if not isinstance(raw, dict):
        raise EventError(f"field 'customer' must be an object, got {_kind(raw)}", field="customer")
    w = "customer."
    return CustomerProfile(
        id=_string(raw, "id", where=w, required=False, max_chars=MAX_ID_CHARS),
        name=_string(raw, "name", where=w, required=False, max_chars=MAX_ID_CHARS),
        tier=_lower(_string(raw, "tier", where=w, required=False, max_chars=64)),
        prior_complaints=_count(raw, "prior_complaints", where=w),
        prior_refunds=_count(raw, "prior_refunds", where=w),
        lifetime_value=_number(raw, "lifetime_value", where=w, minimum=0),
    )


def _agent(obj: Mapping[str, Any]) -> AgentRef | None:
    raw = obj.get("agent")
    if raw is None:
        return None
    if not isinstance(raw, dict):
        raise EventError(f"field 'agent' must be an object with an 'id', got {_kind(raw)}", field="agent")
    agent_id = _string(raw, "id", where="agent.", required=True, max_chars=MAX_ID_CHARS)
    assert agent_id is not None
    return AgentRef(agent_id, _string(raw, "name", where="agent.", required=False, max_chars=MAX_ID_CHARS))


def parse_event(obj: Any, *, default_ts: float | None = None) -> AnyEvent:
    """Validate one decoded JSON value against the contract.

    `default_ts` is the receive time a live server fills in when `ts` is absent; files
    pass None, which makes `ts` required.
    """
    if not isinstance(obj, dict):
        raise EventError(f"an event must be a JSON object, got {_kind(obj)}")
    conversation = _string(obj, "conversation", required=True, max_chars=MAX_CONVERSATION_CHARS)
    assert conversation is not None
    if not conversation:
        raise EventError("field 'conversation' must not be empty", field="conversation")
    kind = _choice(obj, "type", EVENT_TYPES, required=True)
    ts = _number(obj, "ts")
    if ts is None:
        if default_ts is None:
            raise EventError("field 'ts' is required (seconds, a number)", field="ts")
        ts = default_ts
    event_id = _string(obj, "id", required=False, max_chars=MAX_ID_CHARS)
    if kind == "start":
        return Start(conversation, ts, event_id, customer=_profile(obj), agent=_agent(obj),
                     channel=_string(obj, "channel", required=False, max_chars=64),
                     locale=_string(obj, "locale", required=False, max_chars=35))
    if kind == "message":
        role = _choice(obj, "role", ROLES, required=True)
        return Message(conversation, ts, event_id, role=role, text=_text(obj))  # type: ignore[arg-type]
    if kind == "hold":
        state = _choice(obj, "state", HOLD_STATES, required=True)
        return Hold(conversation, ts, event_id, state=state)  # type: ignore[arg-type]
    if kind == "draft":
        return Draft(conversation, ts, event_id, text=_text(obj))
    if kind == "end":
        return End(conversation, ts, event_id, outcome=_choice(obj, "outcome", OUTCOMES, required=False))
    prompt = _string(obj, "prompt", required=True, max_chars=MAX_ID_CHARS)
    verdict = _choice(obj, "verdict", VERDICTS, required=True)
    assert prompt is not None and verdict is not None
    return Feedback(conversation, ts, event_id, prompt=prompt, verdict=verdict)


def event_to_json(event: AnyEvent) -> dict[str, Any]:
    """The contract JSON form of a parsed event (used by export and the store)."""
    out: dict[str, Any] = {"conversation": event.conversation, "type": event.type, "ts": event.ts}
    if event.id is not None:
        out["id"] = event.id
    if isinstance(event, Start):
        c = event.customer
        customer = {k: v for k, v in (("id", c.id), ("name", c.name), ("tier", c.tier),
                                      ("prior_complaints", c.prior_complaints or None),
                                      ("prior_refunds", c.prior_refunds or None),
                                      ("lifetime_value", c.lifetime_value)) if v is not None}
        if customer:
            out["customer"] = customer
        if event.agent is not None:
            out["agent"] = {"id": event.agent.id, **({"name": event.agent.name} if event.agent.name else {})}
        if event.channel is not None:
            out["channel"] = event.channel
        if event.locale is not None:
            out["locale"] = event.locale
    elif isinstance(event, Message):
        out["role"] = event.role
        out["text"] = event.text
    elif isinstance(event, Hold):
        out["state"] = event.state
    elif isinstance(event, Draft):
        out["text"] = event.text
    elif isinstance(event, End):
        if event.outcome is not None:
            out["outcome"] = event.outcome
    else:
        out["prompt"] = event.prompt
        out["verdict"] = event.verdict
    return out


def _lower(value: str | None) -> str | None:
    """Tiers are labels ('VIP' and 'vip' are the same tier)."""
    return value.strip().lower() if value is not None else None
