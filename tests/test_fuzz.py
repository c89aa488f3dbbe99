"""Property-based fuzzing (hypothesis) of what takes outside input: the event parser,
the engine, the condition compiler, the phrasebook loader and mapping files.
Over 10,000 generated inputs in all; none may crash, every rejection is a clear error."""

from __future__ import annotations

import json
import string
from pathlib import Path
from typing import Any

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from assist import Engine, load_phrasebook
from assist.conditions import compile_condition
from assist.errors import ConditionError, EventError, RuleFileError
from assist.events import parse_event
from assist.mapping import load_mapping

BOOK = load_phrasebook()
CUES = set(BOOK.cues.cues)
PROMPTS = {e.id for e in BOOK.entries}
TYPES = ["start", "message", "hold", "draft", "end", "feedback", "bogus", "", None, 3]
json_scalars = st.none() | st.booleans() | st.integers(-10**12, 10**12) | st.floats(allow_nan=True) | \
    st.text(max_size=40)
json_values = st.recursive(json_scalars, lambda inner: st.lists(inner, max_size=4) |
                           st.dictionaries(st.text(max_size=12), inner, max_size=4), max_leaves=12)


@st.composite
def events(draw: Any, conversations: tuple[str, ...] = ("c1", "c2")) -> dict[str, Any]:
    event: dict[str, Any] = {
        "conversation": draw(st.sampled_from([*conversations, "", None, 7, "x" * 200])),
        "type": draw(st.sampled_from(TYPES)),
    }
    optional = {
        "ts": st.one_of(st.floats(allow_nan=True, allow_infinity=True), st.floats(-1e12, 1e12), st.integers(-5, 10**10),
                        st.text(max_size=5)),
        "role": st.sampled_from(["customer", "agent", "bot", None, 1]),
        "text": st.one_of(st.text(max_size=300), st.sampled_from([
            "WHERE IS MY REFUND?!!", "that's our policy", "one moment please", "I'm sorry about that",
            "I'll sue you", "x" * 17000, "🙂🙂", "<script>alert(1)</script>"]), st.integers()),
        "state": st.sampled_from(["start", "end", "pause", None]),
        "outcome": st.sampled_from(["resolved", "unresolved", "escalated", "abandoned", "meh", None]),
        "prompt": st.text(max_size=12), "verdict": st.sampled_from(["helpful", "not-helpful", "dismissed", "no"]),
        "id": st.one_of(st.text(max_size=10), st.integers()),
        "customer": json_values | st.fixed_dictionaries({}, optional={
            "tier": st.text(max_size=8), "prior_complaints": st.integers(-3, 10**9) | st.text(max_size=3),
            "lifetime_value": st.floats(allow_nan=True) | st.text(max_size=3), "name": st.text(max_size=20)}),
        "agent": json_values | st.fixed_dictionaries({"id": st.text(max_size=8) | st.integers()}),
        "extra": json_values,
    }
    for key, strategy in optional.items():
        if draw(st.booleans()):
            event[key] = draw(strategy)
    return event


@settings(max_examples=2000, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.one_of(events(), json_values))
def test_the_parser_accepts_or_explains(obj: Any) -> None:
    try:
        parse_event(obj, default_ts=0.0)
    except EventError as exc:
        assert str(exc).strip() and len(str(exc)) < 1000


@settings(max_examples=600, deadline=None, suppress_health_check=[HealthCheck.too_slow])
@given(st.lists(events(), min_size=1, max_size=14), st.floats(0, 10**6))
def test_the_engine_never_crashes(batch: list[dict[str, Any]], later: float) -> None:
    engine = Engine(BOOK)
    for event in batch:
        outcome = engine.ingest(event, now=100.0)
        assert outcome.status in ("accepted", "duplicate", "rejected")
        if outcome.status == "rejected":
            assert outcome.error and outcome.error.strip()
        for record in outcome.records:
            assert record["kind"] in ("turn", "prompt", "error")
            json.dumps(record)  # every record serialises
    for record in engine.tick(later) + engine.finish():
        assert record["kind"] in ("prompt", "error")
    engine.next_due()


tokens = st.sampled_from(["mood", "==", "'upset'", "and", "or", "not", "(", ")", "cues", "in", "'policy-excuse'",
                          "sentiment", "<", "-0.5", "trend.level", "customer_type", "'vip'", "agent_said", "[",
                          "]", "'apology'", "turns.customer", ">=", "3", "timers.hold", "profile.tier", "fired",
                          "'no-excuses'", "__class__", ".", "lipsum", "|", "upper", "range(10**9)", "{", "}", ",",
                          "words", "1e400", "'x' * 10**9"])


@settings(max_examples=2500, deadline=None)
@given(st.lists(tokens, min_size=1, max_size=12).map(" ".join) | st.text(alphabet=string.printable, max_size=60))
def test_conditions_compile_or_explain(source: str) -> None:
    try:
        compile_condition(source, cue_ids=CUES, prompt_ids=PROMPTS)
    except ConditionError as exc:
        assert str(exc).strip()


ENTRY = """entries:
  - id: {id}
    on: {on}
    when: {when}
    text: {text}
    severity: {severity}
    cooldown: {cooldown}
"""


@settings(max_examples=300, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(id=st.sampled_from(["no-excuses", "new-one", "", "Bad Id", "x" * 80]),
       on=st.sampled_from(["agent", "customer", "hold", "nowhere", "[agent, end]", "{}"]),
       when=st.sampled_from(["mood == 'upset'", "'policy-excuse' in cues", "'nope' in cues", "mood ==", "42",
                             "\"unterminated", "cues.__class__"]),
       text=st.sampled_from(["Say sorry.", "{{ profile.name }} waits", "{{ broken", "''", "{% for %}"]),
       severity=st.sampled_from(["info", "warn", "critical", "loud", "1"]),
       cooldown=st.sampled_from(["0", "60", "-5", "soon", "1e9"]))
def test_the_phrasebook_loader_accepts_or_names_file_and_line(tmp_path_factory: Any, **fields: str) -> None:
    path = Path(tmp_path_factory.mktemp("pb")) / "team.yaml"
    path.write_text(ENTRY.format(**fields))
    try:
        load_phrasebook(path)
    except RuleFileError as exc:
        assert exc.issues
        for issue in exc.issues:
            assert issue.where.file == str(path) or issue.where.file.endswith("team.yaml")
            assert issue.message.strip()


@settings(max_examples=800, deadline=None, suppress_health_check=[HealthCheck.function_scoped_fixture])
@given(payload=json_values, path=st.sampled_from(["a.b", "ticket.ref", "0", "x.0.y"]))
def test_mappings_map_or_skip(payload: Any, path: str, tmp_path_factory: Any) -> None:
    target = Path(tmp_path_factory.mktemp("map")) / "m.yaml"
    target.write_text(f"name: m\nrules:\n  - type: message\n    conversation: {path}\n    role: {{const: customer}}\n"
                      f"    text: {path}\n    ts: {{path: {path}, format: iso}}\n")
    events, skipped = load_mapping(target).map(payload)
    for event in events:
        parse_event(event, default_ts=0.0) if isinstance(event.get("text"), str) else None
    assert all(reason.strip() for reason in skipped)


binary_values = st.recursive(json_scalars | st.binary(max_size=3) | st.binary(max_size=3).map(bytearray),
                             lambda inner: st.lists(inner, max_size=4) | st.dictionaries(st.text(max_size=4), inner,
                                                                                          max_size=4), max_leaves=12)


@settings(max_examples=500, deadline=None)
@given(binary_values)
def test_the_wire_packets_binary_check_agrees_with_python_socketio(data: Any) -> None:
    import socketio

    from assist.server import WirePacket

    assert WirePacket.data_is_binary(data) == socketio.packet.Packet.data_is_binary(data)
