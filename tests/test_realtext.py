"""Real support tweets and chats (bench/realtext.py): the labels we keep, and the layer on them when the texts are here.

The texts are not ours to redistribute, so the repository keeps only the labels, keyed by
tweet id or chat id. With a checkout of github.com/kechtel/ericsson named in
CS_REALTEXT_SOURCE (tweets) or of github.com/WMT-Chat-task/chat-task-2024-data in
CS_REALCHAT_SOURCE (chats), they are rebuilt and the floors below are asserted: the numbers
measured at the end of the eleventh session, rounded down (docs/labelled-data.md).
"""

from __future__ import annotations

import json
import os
import sys
from pathlib import Path

import pytest

from assist import load_phrasebook
from assist.evaluate import evaluate, load_labelled

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import realtext  # noqa: E402

LABELS = json.loads(realtext.LABELS.read_text())
CHAT_LABELS = json.loads(realtext.CHAT_LABELS.read_text())
SOURCE = Path(os.environ.get("CS_REALTEXT_SOURCE", "/nonexistent"))
CHAT_SOURCE = Path(os.environ.get("CS_REALCHAT_SOURCE", "/nonexistent"))
FLOORS = {"dev": 0.76, "held": 0.73}  # mood upset-or-not (0.768, 0.733); bare VADER reads 0.610 and 0.662
# mood upset-or-not (0.874, 0.857; bare VADER 0.844, 0.855) and calm chats given a negative prompt (4 of 14, 8 of 19)
CHAT_FLOORS = {"dev": (0.86, 4), "held": (0.85, 8)}


def test_every_chat_has_a_mood_per_customer_turn_and_a_calm_flag_that_agrees() -> None:
    assert len(LABELS) > 700 and len(CHAT_LABELS) == 50
    for key, label in [*LABELS.items(), *CHAT_LABELS.items()]:
        assert label["moods"], key
        assert set(label["moods"]) <= {"upset", "neutral", "positive"}, key
        assert label["calm"] == ("upset" not in label["moods"]), key
    assert all(key[0] in "ts" for key in LABELS)
    assert {key.split(":")[0] for key in CHAT_LABELS} == set(realtext.CHAT_LANGUAGES)
    halves = {realtext.half(key) for key in LABELS}
    assert halves == {"dev", "held"}


@pytest.mark.parametrize(("labels", "reader", "at_least"), [
    ("tweets", "second_reader", 0.95),  # 0.960 on 126 held-out turns: the gap to the layer is not noise in the labels
    ("tweets", "plain_reader", 0.97),  # 0.976 on 125 development turns, with our authors' instructions only
    ("chats", "second_reader", 0.98),  # 0.986 on 140 held-out turns
])
def test_other_readers_agree_on_upset_or_not_for_most_turns(labels: str, reader: str, at_least: float) -> None:
    pairs = [(a, b) for label in (LABELS if labels == "tweets" else CHAT_LABELS).values() if reader in label
             for a, b in zip(label["moods"], label[reader], strict=True)]
    assert len(pairs) >= 120
    agree = sum((a == "upset") == (b == "upset") for a, b in pairs) / len(pairs)
    assert agree >= at_least


def test_a_chat_becomes_contract_events_with_its_labels() -> None:
    turns = [{"role": "customer", "text": "it broke again", "ts": 0.0},
             {"role": "agent", "text": "Sorry! Which model?", "ts": 60.0},
             {"role": "customer", "text": "the X", "ts": 30.0}]  # a reply stamped before its question
    lines = realtext.events("real-x", turns, {"calm": False, "moods": ["upset", "neutral"]})
    assert lines[0] == {"type": "start", "conversation": "real-x", "ts": 0.0, "channel": "twitter",
                        "expect": {"calm": False}}
    assert [e.get("mood_label") for e in lines[1:]] == ["upset", None, "neutral"]
    assert [e["ts"] for e in lines[1:]] == [0.0, 60.0, 60.0]  # time never runs backwards
    assert realtext.clean("@AmazonHelp where is it?? https://t.co/x &amp; now") == "where is it?? & now"


@pytest.mark.skipif(not (SOURCE / "data" / "labeled").is_dir(),
                    reason="set CS_REALTEXT_SOURCE to a checkout of github.com/kechtel/ericsson")
@pytest.mark.parametrize("part", list(FLOORS))
def test_real_tweets_read_better_than_bare_vader(tmp_path: Path, part: str) -> None:
    realtext.main([str(tmp_path), "--tweets", str(SOURCE)])
    report = evaluate(load_phrasebook(), load_labelled(sorted((tmp_path / f"real-{part}").glob("*.jsonl"))))
    assert report.mood_sign_accuracy(1) >= FLOORS[part], f"real-{part} mood {report.mood_sign_accuracy(1):.3f}"
    assert report.mood_sign_accuracy(1) > report.mood_sign_accuracy(2) + 0.05


@pytest.mark.skipif(not (CHAT_SOURCE / "valid").is_dir(),
                    reason="set CS_REALCHAT_SOURCE to a checkout of github.com/WMT-Chat-task/chat-task-2024-data")
@pytest.mark.parametrize("part", list(CHAT_FLOORS))
def test_real_support_chats_read_at_least_as_well_as_bare_vader(tmp_path: Path, part: str) -> None:
    """Real chats of a support platform, the customer side translated into English."""
    realtext.main([str(tmp_path), "--chats", str(CHAT_SOURCE)])
    report = evaluate(load_phrasebook(), load_labelled(sorted((tmp_path / f"real-chat-{part}").glob("*.jsonl"))))
    mood, calm_with_negative = CHAT_FLOORS[part]
    assert report.mood_sign_accuracy(1) >= mood, f"real-chat-{part} mood {report.mood_sign_accuracy(1):.3f}"
    assert report.mood_sign_accuracy(1) >= report.mood_sign_accuracy(2)
    assert len(report.calm_with_negative) <= calm_with_negative
