"""The engine on plain event lists: indices, time, idempotency, timers, budget, records."""

from __future__ import annotations

import subprocess
import sys

import pytest

from assist import Engine
from assist.phrasebook import Phrasebook

from .conftest import DATA, chat, load_jsonl, prompts, run

TURN_FIELDS = {"kind", "conversation", "event", "ts", "role", "sentiment", "mood", "customer_type", "cues"}
PROMPT_FIELDS = {"kind", "id", "prompt", "conversation", "event", "ts", "severity", "audience", "text", "evidence"}


def test_shared_example_gives_the_contract_prompts(engine: Engine) -> None:
    records = run(engine, load_jsonl(DATA / "two-chats.jsonl"), finish=True)
    turns = [r for r in records if r["kind"] == "turn"]
    assert len(turns) == 8
    ps = prompts(records)
    # the agent's policy excuse is ex-1's third event (start 0, customer 1, agent 2)
    assert any(p["prompt"] == "no-excuses" and p["conversation"] == "ex-1" and p["event"] == 2 for p in ps)
    holds = [p for p in ps if p["prompt"] == "hold-update" and p["conversation"] == "ex-1"]
    assert holds and holds[0]["ts"] == 115 and holds[0]["event"] == 4  # 60 s after "one moment" at ts 55
    assert not [p for p in ps if p["conversation"] == "ex-2"]


def test_records_carry_every_contract_field(engine: Engine) -> None:
    records = run(engine, load_jsonl(DATA / "two-chats.jsonl"), finish=True)
    for rec in records:
        if rec["kind"] == "turn":
            assert set(rec) >= TURN_FIELDS
            assert -1 <= rec["sentiment"] <= 1 and rec["mood"] in ("upset", "neutral", "positive")
        elif rec["kind"] == "prompt":
            assert set(rec) >= PROMPT_FIELDS
            assert rec["severity"] in ("info", "warn", "critical") and rec["audience"] in ("agent", "supervisor")
            assert rec["evidence"], f"prompt {rec['prompt']} carries no evidence"


def test_event_index_counts_every_accepted_event_per_conversation(engine: Engine) -> None:
    events = [
        {"conversation": "a", "type": "start", "ts": 0, "agent": {"id": "x"}},
        {"conversation": "b", "type": "message", "ts": 1, "role": "customer", "text": "hi"},  # no start: fine
        {"conversation": "a", "type": "message", "ts": 2, "role": "customer", "text": "hello"},
        {"conversation": "a", "type": "message", "ts": 3, "role": "robot", "text": "bad"},  # rejected: no index
        {"conversation": "a", "type": "hold", "ts": 4, "state": "start"},
        {"conversation": "a", "type": "message", "ts": 5, "role": "agent", "text": "back"},
    ]
    records = run(engine, events)
    turns = [(r["conversation"], r["event"]) for r in records if r["kind"] == "turn"]
    assert turns == [("b", 0), ("a", 1), ("a", 3)]
    assert [r["field"] for r in records if r["kind"] == "error"] == ["role"]


def test_ts_going_back_is_raised_with_a_warning(engine: Engine) -> None:
    events = chat(("customer", "hi"), ("agent", "hello"))
    events.append({"conversation": "c", "type": "message", "ts": 5, "role": "customer", "text": "still there?"})
    records = run(engine, events)
    warnings = [r for r in records if r["kind"] == "error"]
    assert len(warnings) == 1 and warnings[0]["severity"] == "warning" and warnings[0]["field"] == "ts"
    assert "earlier than" in warnings[0]["message"]
    assert [r["ts"] for r in records if r["kind"] == "turn"] == [10, 20, 20]


def test_duplicate_ids_are_ignored(engine: Engine) -> None:
    msg = {"conversation": "c", "type": "message", "ts": 1, "role": "customer", "text": "hi", "id": "m1"}
    first = engine.feed(msg)
    again = engine.feed({**msg, "ts": 2})
    assert len(first) == 1 and again == []
    nxt = engine.feed({**msg, "id": "m2", "ts": 3})
    assert nxt[0]["event"] == 1


def test_bad_input_does_not_stop_other_conversations(engine: Engine) -> None:
    records = run(engine, [
        {"conversation": "ok", "type": "message", "ts": 1, "role": "customer", "text": "hi"},
        {"conversation": "bad", "type": "message", "ts": 1, "role": "customer", "text": "x" * 20000},
        {"type": "message"},
        {"conversation": "ok", "type": "message", "ts": 2, "role": "agent", "text": "hello"},
    ])
    assert [r["kind"] for r in records] == ["turn", "error", "error", "turn"]
    assert records[1]["conversation"] == "bad" and "16,384 bytes" in records[1]["message"]


def test_events_after_end_are_refused_but_feedback_is_taken(engine: Engine) -> None:
    events = chat(("customer", "hi"))
    events.append({"conversation": "c", "type": "end", "ts": 20, "outcome": "resolved"})
    events.append({"conversation": "c", "type": "message", "ts": 30, "role": "customer", "text": "wait"})
    records = run(engine, events)
    assert "has ended" in records[-1]["message"]


def test_feedback_must_name_a_shown_prompt(engine: Engine) -> None:
    records = run(engine, chat(("customer", "Where is my parcel?"),
                               ("agent", "The courier lost it, that's their fault not ours.")))
    shown = prompts(records, "no-excuses")
    assert shown
    ok = engine.feed({"conversation": "c", "type": "feedback", "ts": 30, "prompt": shown[0]["id"],
                      "verdict": "helpful"})
    assert ok == []
    conv = engine.conversation("c")
    assert conv is not None and conv.feedback == {shown[0]["id"]: "helpful"}
    bad = engine.feed({"conversation": "c", "type": "feedback", "ts": 31, "prompt": "nope", "verdict": "helpful"})
    assert bad[0]["kind"] == "error" and bad[0]["field"] == "prompt"


def test_prompt_instance_ids_are_unique_and_deterministic(phrasebook: Phrasebook) -> None:
    events = load_jsonl(DATA / "two-chats.jsonl")
    a = run(Engine(phrasebook), events, finish=True)
    b = run(Engine(phrasebook), events, finish=True)
    assert a == b
    ids = [p["id"] for p in prompts(a)]
    assert len(ids) == len(set(ids))


class TestTimers:
    def test_implicit_hold_fires_after_60s_and_repeats(self, engine: Engine) -> None:
        records = run(engine, chat(("customer", "Can you check my order?"), ("agent", "Sure, one moment please.")))
        assert engine.next_due() == 80  # agent spoke at 20
        assert engine.tick(79) == []
        fired = engine.tick(80)
        assert [p["prompt"] for p in fired] == ["hold-update"]
        assert fired[0]["ts"] == 80 and fired[0]["event"] == 2 and fired[0]["trigger"] == "timer"
        assert engine.next_due() == 140
        assert [p["ts"] for p in engine.tick(200)] == [140, 200]
        assert not prompts(records)

    def test_agent_update_restarts_and_answer_ends_implicit_hold(self, engine: Engine) -> None:
        run(engine, chat(("customer", "Can you check my order?"), ("agent", "Let me check, one moment.")))
        engine.feed({"conversation": "c", "type": "message", "ts": 50, "role": "agent",
                     "text": "Still checking, bear with me."})
        assert engine.next_due() == 110
        engine.feed({"conversation": "c", "type": "message", "ts": 70, "role": "agent",
                     "text": "Found it: it ships today."})
        assert engine.next_due() is None

    def test_explicit_hold_runs_until_hold_end(self, engine: Engine) -> None:
        run(engine, chat(("customer", "I need to change my flight.")))
        engine.feed({"conversation": "c", "type": "hold", "ts": 15, "state": "start"})
        assert engine.next_due() == 75
        engine.feed({"conversation": "c", "type": "message", "ts": 40, "role": "agent", "text": "Nearly there."})
        assert engine.next_due() == 100  # an update restarts the clock, the hold goes on
        engine.feed({"conversation": "c", "type": "hold", "ts": 60, "state": "end"})
        assert engine.next_due() is None

    def test_timers_due_before_an_event_fire_first_with_their_due_time(self, engine: Engine) -> None:
        events = chat(("customer", "Is my refund done?"), ("agent", "Let me check that for you."))
        events.append({"conversation": "c", "type": "message", "ts": 100, "role": "customer", "text": "Hello??"})
        records = run(engine, events)
        kinds = [(r["kind"], r.get("prompt"), r["ts"]) for r in records if r["kind"] != "turn" or r["ts"] == 100]
        assert kinds[:2] == [("prompt", "hold-update", 80), ("turn", None, 100)]

    def test_end_stops_timers_and_finish_fires_open_ones_within_the_horizon(self, engine: Engine) -> None:
        run(engine, chat(("customer", "Is my refund done?"), ("agent", "One moment."), cid="open"))
        run(engine, chat(("customer", "Is my refund done?"), ("agent", "One moment."), cid="closed"))
        engine.feed({"conversation": "closed", "type": "end", "ts": 25})
        late = engine.finish()
        assert {p["conversation"] for p in late} == {"open"}
        assert max(p["ts"] for p in late) <= 20 + 600
        assert len(late) == 5  # max_per_conversation of hold-update

    def test_next_due_spans_conversations(self, engine: Engine) -> None:
        run(engine, chat(("agent", "One moment."), cid="x"))
        run(engine, [{"conversation": "y", "type": "message", "ts": 2, "role": "agent", "text": "Bear with me."}])
        assert engine.next_due() == 62
        assert [p["conversation"] for p in engine.tick(70)] == ["y", "x"]


class TestBudget:
    def test_cooldown_holds_back_a_repeat(self, engine: Engine) -> None:
        records = run(engine, chat(
            ("customer", "Where's my parcel?"),
            ("agent", "Our policy says we can't chase the courier."),
            ("customer", "What?"),
            ("agent", "Sorry, it's company policy."),
        ))
        assert len(prompts(records, "no-excuses")) == 1

    def test_per_event_budget_keeps_the_most_severe(self, phrasebook: Phrasebook) -> None:
        engine = Engine(phrasebook)
        records = run(engine, chat(("customer", "Your update deleted all my photos!"),
                                   ("agent", "That's not true. Our policy is clear; call the other number.")))
        at_agent = [p for p in prompts(records) if p["event"] == 2 and p["audience"] == "agent"]
        assert 1 <= len(at_agent) <= phrasebook.budget.per_event


def test_draft_check_warns_without_changing_state(engine: Engine) -> None:
    run(engine, chat(("customer", "My order arrived broken.")))
    conv = engine.conversation("c")
    assert conv is not None
    fired_before = dict(conv.fired)
    warnings = engine.check_draft("c", "Unfortunately our policy doesn't allow that, please call the manufacturer.", 30)
    assert {w["prompt"] for w in warnings} >= {"no-excuses", "dont-pass-buck"}
    assert all(w["draft"] for w in warnings)
    assert conv.counts.agent == 0 and dict(conv.fired) == fired_before and not conv.agent_said


def test_core_imports_no_io_frameworks() -> None:
    code = ("import sys, assist, assist.engine, assist.replay, assist.examples\n"
            "bad = [m for m in ('aiohttp', 'socketio', 'sqlite3', 'asyncpg', 'redis') if m in sys.modules]\n"
            "print(','.join(bad))")
    out = subprocess.run([sys.executable, "-c", code], capture_output=True, text=True, check=True).stdout.strip()
    assert out == ""


@pytest.mark.parametrize("text", ["", "   ", "🙂", "a" * 16384, "<script>alert(1)</script>", "\x00\x01"])
def test_odd_texts_are_scored_without_error(engine: Engine, text: str) -> None:
    records = engine.feed({"conversation": "c", "type": "message", "ts": 1, "role": "customer", "text": text})
    assert records[0]["kind"] == "turn"


def test_open_conversation_count_follows_start_end_and_forget(engine: Engine) -> None:
    run(engine, chat(("customer", "hi"), cid="a") + chat(("customer", "hi"), cid="b"))
    assert engine.open_conversations == 2
    engine.feed({"conversation": "a", "type": "end", "ts": 50})
    assert engine.open_conversations == 1
    engine.forget("a")
    engine.forget("b")
    assert engine.open_conversations == 0


def test_a_hold_stamped_on_another_clock_does_not_hang_the_timers(engine: Engine) -> None:
    """Events carry relative times (ts 0, 2) while the server ticks on the wall clock:
    a repeating timer skips the millions of repeats it missed instead of walking them."""
    run(engine, chat(("customer", "Where is my refund?")))
    engine.feed({"conversation": "c", "type": "hold", "ts": 12, "state": "start"})
    fired = engine.tick(1.8e9)
    hold = prompts(fired, "hold-update")
    assert 1 <= len(hold) <= 5 and hold[-1]["ts"] <= 1.8e9
    assert engine.next_due() is not None and engine.next_due() > 1.8e9


@pytest.mark.parametrize("ts", [1e18, 1e300])
def test_a_repeating_timer_at_an_absurd_clock_fires_once_instead_of_spinning(engine: Engine, ts: float) -> None:
    """From about 2**53 s a 60 s repeat no longer moves a float: the hold timer must not loop
    (found by the fuzz test; a hostile `ts` would otherwise hang the process)."""
    import signal

    def hung(signum: int, frame: object) -> None:
        raise AssertionError("the timers did not stop")

    previous = signal.signal(signal.SIGALRM, hung)
    signal.alarm(10)
    try:
        engine.feed({"conversation": "far", "type": "start", "ts": ts})
        engine.feed({"conversation": "far", "type": "message", "role": "agent", "ts": ts,
                     "text": "Let me check that, one moment."})
        fired = [r["prompt"] for r in engine.finish() if r["kind"] == "prompt"]
        assert fired.count("hold-update") == 1
    finally:
        signal.alarm(0)
        signal.signal(signal.SIGALRM, previous)


def test_a_gold_customer_who_gives_up_quietly_is_meek_not_vip(engine: Engine) -> None:
    """The tier says VIP; the words say meek. A quiet give-up outweighs the profile, a demand does not."""
    gold = {"tier": "gold", "lifetime_value": 18500, "prior_complaints": 0, "prior_refunds": 0}
    quiet = run(engine, chat(("customer", "Good morning. The cashback of last month did not come to my card."),
                             ("agent", "That offer needed a minimum spend of 10,000, your spend was 9,400."),
                             ("customer", "ohh. ok sir no problem. if not possible then leave it, my mistake only"),
                             cid="quiet", profile=gold))
    loud = run(engine, chat(("customer", "Good morning. The cashback of last month did not come to my card."),
                            ("agent", "That offer needed a minimum spend of 10,000, your spend was 9,400."),
                            ("customer", "I want the cashback credited today, I spend with you every month."),
                            cid="loud", profile=gold))
    last = [r for r in quiet if r["kind"] == "turn"][-1]["customer_type"]
    assert last is not None and last["label"] == "meek"
    assert any(e["why"].startswith("resigned") for e in last["evidence"])
    assert [r for r in loud if r["kind"] == "turn"][-1]["customer_type"]["label"] == "vip"
