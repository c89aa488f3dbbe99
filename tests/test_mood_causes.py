"""What decided a mood call (assist/moodcauses.py), and `assist eval` saying why calls go wrong."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assist import load_phrasebook
from assist.evaluate import evaluate, load_labelled
from assist.moodcauses import MODEL, VADER, MoodCall, decided_by, decider_tallies, error_causes

from .conftest import ROOT


def step(cue: str, before: float, after: float, effect: str = "shift -0.3") -> dict[str, Any]:
    return {"cue": cue, "quote": "", "effect": effect, "before": before, "after": after}


@pytest.mark.parametrize(("evidence", "decider"), [
    # no adjustment: VADER's reading stands
    ({"base": -0.6, "value": -0.6, "adjustments": []}, VADER),
    # a cue that moves the score without crossing the bound decides nothing
    ({"base": -0.4, "value": -0.7, "adjustments": [step("frustration", -0.4, -0.7)]}, VADER),
    # the cue that carried a positive reading across to upset
    ({"base": 0.5, "value": -0.25, "adjustments": [step("sarcasm", 0.5, -0.25)]}, "sarcasm"),
    # several crossings: the last one to the side the score ended on
    ({"base": 0.3, "value": -0.1, "adjustments": [step("curt", 0.3, -0.2), step("courtesy", -0.2, 0.1),
                                                   step(MODEL, 0.1, -0.1, "mood model: upset (p 0.71)")]}, MODEL),
    # crossed and crossed back: VADER's side again, decided by the step that brought it back
    ({"base": 0.3, "value": 0.0, "adjustments": [step("curt", 0.3, -0.2), step(MODEL, -0.2, 0.0)]}, MODEL),
    # a set-aside of service words that takes a sad-sounding plain turn to calm
    ({"base": -0.3, "value": 0.0, "adjustments": [step("service-words", -0.3, 0.0, "service words set aside")]},
     "service-words"),
])
def test_the_step_that_decided_a_call(evidence: dict[str, Any], decider: str) -> None:
    assert decided_by(evidence)[0] == decider


def call(label: str, ours: str, decider: str, cues: tuple[str, ...] = (), effect: str = "") -> MoodCall:
    return MoodCall("c", 1, "text", label, ours, "neutral", cues, decider, effect)


def test_causes_name_the_decider_and_which_way_it_went() -> None:
    assert call("upset", "neutral", VADER).cause == "no cue; VADER read it calm"
    assert call("upset", "positive", VADER, ("courtesy",)).cause == "VADER read it calm; its cues did not change that"
    assert call("neutral", "upset", "resigned").cause == "moved to upset by cue resigned"
    assert call("upset", "neutral", "service-words", effect="service words set aside").cause == \
        "moved to calm by cue service-words (its words set aside)"
    assert call("neutral", "upset", MODEL).cause == "the mood model read it upset"


def test_right_calls_are_upset_or_not_as_labelled() -> None:
    calls = [call("neutral", "positive", VADER), call("upset", "upset", "curt"), call("neutral", "upset", "curt"),
             call("upset", "neutral", MODEL), call("positive", "neutral", MODEL)]
    assert [c.right for c in calls] == [True, True, False, False, True]
    assert error_causes(calls) == {"upset read as calm": {"the mood model read it calm": 1},
                                   "calm read as upset": {"moved to upset by cue curt": 1}}
    curt, model = decider_tallies(calls)
    assert (curt.decided_by, curt.to_upset_right, curt.to_upset_wrong, curt.wrong) == ("curt", 1, 1, 1)
    assert (model.decided_by, model.to_calm_right, model.to_calm_wrong, model.total) == (MODEL, 1, 1, 2)


CHAT = [
    {"conversation": "a", "type": "start", "ts": 0, "expect": {"type": None, "prompts": []}},
    {"conversation": "a", "type": "message", "ts": 1, "role": "customer", "text": "The parcel came on Tuesday.",
     "mood_label": "upset"},
    {"conversation": "a", "type": "message", "ts": 2, "role": "agent", "text": "Thanks, I will check it."},
    {"conversation": "a", "type": "message", "ts": 3, "role": "customer",
     "text": "WHERE IS MY REFUND?!!! Three weeks and NOTHING, this is a joke.", "mood_label": "neutral"},
    {"conversation": "a", "type": "message", "ts": 4, "role": "customer", "text": "Great, thank you so much!",
     "mood_label": "positive"},
]


def write(path: Path, events: list[dict[str, Any]]) -> Path:
    path.write_text("".join(json.dumps(e) + "\n" for e in events))
    return path


def test_eval_says_why_each_wrong_call_went_wrong(tmp_path: Path) -> None:
    chat = write(tmp_path / "why.jsonl", CHAT)
    report = evaluate(load_phrasebook(), load_labelled([chat]))
    wrong = report.mood_errors()
    # a plain statement labelled upset, and an outburst labelled calm (labels chosen to disagree)
    assert [(c.event, c.label, c.ours) for c in wrong] == [(1, "upset", "neutral"), (3, "neutral", "upset")]
    assert wrong[0].cause == "no cue; VADER read it calm"
    assert wrong[1].decided_by in wrong[1].cues and wrong[1].cause.startswith("moved to upset by cue ")

    html = tmp_path / "report.html"
    run = subprocess.run([sys.executable, "-m", "assist", "eval", str(chat), "--html", str(html), "--misses"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    out = run.stdout
    assert "MOOD why.jsonl a @1 upset read neutral: no cue; VADER read it calm" in run.stderr
    assert "## why.jsonl: why mood calls go wrong (2 of 3 turns)" in out
    assert "| upset read as calm | no cue; VADER read it calm | 1 |" in out
    assert f"| cue {wrong[1].decided_by} | 0 / 1 | 0 / 0 |" in out
    page = html.read_text()
    assert "Why mood calls go wrong (2 of 3 customer turns)" in page and "The 2 turns" in page
    assert "The parcel came on Tuesday." in page and "Great, thank you so much!" not in page


def test_a_set_without_wrong_calls_has_no_why_section(tmp_path: Path) -> None:
    chat = write(tmp_path / "right.jsonl", [CHAT[0], CHAT[4]])
    out = subprocess.run([sys.executable, "-m", "assist", "eval", str(chat)],
                         capture_output=True, text=True, check=True, cwd=ROOT).stdout
    assert "why mood calls go wrong" not in out


def test_a_miss_held_back_by_a_cooldown_says_so(tmp_path: Path) -> None:
    vent = "WHERE IS MY REFUND?!!! Three weeks and NOTHING, this is a joke."
    chat = write(tmp_path / "held.jsonl", [
        {"conversation": "h", "type": "start", "ts": 0,
         "expect": {"type": None, "prompts": [{"prompt": "let-them-vent", "event": 1, "slack": 0},
                                              {"prompt": "let-them-vent", "event": 2, "slack": 0}]}},
        {"conversation": "h", "type": "message", "ts": 1, "role": "customer", "text": vent},
        {"conversation": "h", "type": "message", "ts": 3, "role": "customer", "text": vent.upper()},
    ])
    report = evaluate(load_phrasebook(), load_labelled([chat]))
    (result,) = report.results
    assert result.hits == ["let-them-vent"]
    assert result.misses == [{"prompt": "let-them-vent", "event": 2, "slack": 0, "held_back": "cooldown"}]
    assert report.per_prompt()["let-them-vent"] == {"hit": 1, "miss": 1, "held_back": 1, "fired": 1}
    run = subprocess.run([sys.executable, "-m", "assist", "eval", str(chat), "--misses"],
                         capture_output=True, text=True, check=True, cwd=ROOT)
    assert "| let-them-vent | 1 | 1 | 1 | 1 | 0 | 0 |" in run.stdout
    assert "MISS held.jsonl h let-them-vent @2 (held back: cooldown)" in run.stderr
