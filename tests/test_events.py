"""Parsing and validating contract events: every bad input is a clear error, nothing crashes."""

from __future__ import annotations

import pytest

from assist.errors import EventError
from assist.events import Draft, End, Feedback, Hold, Message, Start, event_to_json, parse_event

GOOD = [
    {"conversation": "c", "type": "start", "ts": 0, "customer": {"name": "Jo", "tier": "VIP", "prior_complaints": 2,
                                                               "lifetime_value": 120.5}, "agent": {"id": "a"}},
    {"conversation": "c", "type": "message", "ts": 1.5, "role": "customer", "text": "hi", "id": "e1"},
    {"conversation": "c", "type": "hold", "ts": 2, "state": "start"},
    {"conversation": "c", "type": "draft", "ts": 3, "text": "our policy says"},
    {"conversation": "c", "type": "end", "ts": 4, "outcome": "resolved"},
    {"conversation": "c", "type": "feedback", "ts": 5, "prompt": "c:p1", "verdict": "not-helpful"},
]


@pytest.mark.parametrize("obj", GOOD, ids=lambda o: o["type"])
def test_good_events_parse_and_round_trip(obj: dict) -> None:
    event = parse_event(obj)
    assert isinstance(event, Start | Message | Hold | Draft | End | Feedback)
    again = parse_event(event_to_json(event))
    assert again == event


def test_tier_is_a_label_case_insensitive() -> None:
    event = parse_event(GOOD[0])
    assert isinstance(event, Start) and event.customer.tier == "vip"


def test_unknown_extra_fields_are_ignored() -> None:
    event = parse_event({**GOOD[1], "mood_label": "upset", "x": [1]})
    assert isinstance(event, Message) and event.text == "hi"


BAD = [
    ([], None, "must be a JSON object"),
    ({"type": "message", "ts": 1}, "conversation", "'conversation' is required"),
    ({"conversation": "", "type": "end", "ts": 1}, "conversation", "must not be empty"),
    ({"conversation": "x" * 129, "type": "end", "ts": 1}, "conversation", "at most 128 characters"),
    ({"conversation": 7, "type": "end", "ts": 1}, "conversation", "must be a string, got a number"),
    ({"conversation": "c", "ts": 1}, "type", "'type' is required"),
    ({"conversation": "c", "type": "chat", "ts": 1}, "type", "must be one of 'start', 'message'"),
    ({"conversation": "c", "type": "end"}, "ts", "'ts' is required"),
    ({"conversation": "c", "type": "end", "ts": "10"}, "ts", "must be a finite number, got a string"),
    ({"conversation": "c", "type": "end", "ts": True}, "ts", "got a boolean"),
    ({"conversation": "c", "type": "end", "ts": float("nan")}, "ts", "finite number"),
    ({"conversation": "c", "type": "message", "ts": 1, "text": "hi"}, "role", "'role' is required"),
    ({"conversation": "c", "type": "message", "ts": 1, "role": "bot", "text": "hi"}, "role",
     "must be one of 'customer', 'agent'"),
    ({"conversation": "c", "type": "message", "ts": 1, "role": "agent"}, "text", "'text' is required"),
    ({"conversation": "c", "type": "message", "ts": 1, "role": "agent", "text": 5}, "text", "must be a string"),
    ({"conversation": "c", "type": "message", "ts": 1, "role": "agent", "text": "é" * 9000}, "text",
     "18,000 bytes; the limit is 16,384 bytes"),
    ({"conversation": "c", "type": "hold", "ts": 1, "state": "paused"}, "state", "must be one of 'start', 'end'"),
    ({"conversation": "c", "type": "end", "ts": 1, "outcome": "won"}, "outcome", "must be one of 'resolved'"),
    ({"conversation": "c", "type": "feedback", "ts": 1, "verdict": "helpful"}, "prompt", "'prompt' is required"),
    ({"conversation": "c", "type": "feedback", "ts": 1, "prompt": "p", "verdict": "meh"}, "verdict",
     "must be one of 'helpful'"),
    ({"conversation": "c", "type": "start", "ts": 1, "customer": "Jo"}, "customer", "must be an object"),
    ({"conversation": "c", "type": "start", "ts": 1, "customer": {"prior_complaints": -1}},
     "customer.prior_complaints", "whole number >= 0"),
    ({"conversation": "c", "type": "start", "ts": 1, "customer": {"lifetime_value": "lots"}},
     "customer.lifetime_value", "finite number"),
    ({"conversation": "c", "type": "start", "ts": 1, "agent": {"name": "Rita"}}, "agent.id", "'agent.id' is required"),
    ({"conversation": "c", "type": "start", "ts": 1, "id": 12}, "id", "'id' must be a string"),
]


@pytest.mark.parametrize(("obj", "field", "words"), BAD, ids=[f"{b[1]}-{i}" for i, b in enumerate(BAD)])
def test_bad_events_name_the_field_and_the_fix(obj: object, field: str | None, words: str) -> None:
    with pytest.raises(EventError) as caught:
        parse_event(obj)
    assert caught.value.field == field
    assert words in caught.value.message


def test_text_of_exactly_16_kib_is_accepted() -> None:
    event = parse_event({"conversation": "c", "type": "message", "ts": 1, "role": "agent", "text": "a" * 16384})
    assert isinstance(event, Message)


def test_live_server_fills_missing_ts() -> None:
    event = parse_event({"conversation": "c", "type": "end"}, default_ts=99.0)
    assert event.ts == 99.0
