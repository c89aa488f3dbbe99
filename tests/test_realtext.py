"""Real support tweets and chats (bench/realtext.py): the labels we keep, and the layer on them when the texts are here.

The texts are not ours to redistribute, so the repository keeps only the labels, keyed by
tweet id or chat id. With a checkout of github.com/kechtel/ericsson named in
CS_REALTEXT_SOURCE (tweets) or of github.com/WMT-Chat-task/chat-task-2024-data in
CS_REALCHAT_SOURCE (chats), they are rebuilt and the floors below are asserted: the numbers
measured at the end of the thirteenth session (real-chat4: at the end of the fifteenth,
real-chat5: the eighteenth), rounded down (docs/labelled-data.md).
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
FLOORS = {"dev": 0.76, "held": 0.75}  # mood upset-or-not (0.762, 0.753); bare VADER reads 0.610 and 0.662
# per set of chats: mood upset-or-not and calm chats given a negative prompt; bare VADER in the comment
CHAT_FLOORS = {
    "real-chat-dev": (0.91, 1), "real-chat-held": (0.91, 1),  # 0.918, 0.912 (0.844, 0.855); 1 of 14, 1 of 19
    "real-chat-mt-dev": (0.88, 2), "real-chat-mt-held": (0.90, 1),  # machine-translated: 0.887, 0.910 (0.849, 0.845)
    "real-chat2-dev": (0.94, 4), "real-chat2-held": (0.92, 2),  # from the train files: 0.946, 0.927 (0.890, 0.869)
    "real-chat3-dev": (0.91, 1), "real-chat3-held": (0.93, 3),  # the next train chats: 0.913, 0.932 (0.860, 0.877)
    # the next valid chats (fifteenth session): 0.879, 0.892 (0.788, 0.824); 0 of 8, 0 of 10;
    # held 0.888 since the sixteenth session: "I would like to cancel ..." is a request, not a threat
    "real-chat4-dev": (0.87, 0), "real-chat4-held": (0.88, 0),
    "real-chat4-mt-dev": (0.88, 0), "real-chat4-mt-held": (0.86, 1),  # 0.884, 0.868 (0.818, 0.804); 0 of 8, 1 of 10
    # the ten valid chats after those (eighteenth session): 0.877, 0.878 (0.811, 0.832); 1 of 13, 0 of 8
    "real-chat5-dev": (0.87, 1), "real-chat5-held": (0.87, 0),
    "real-chat5-mt-dev": (0.86, 2), "real-chat5-mt-held": (0.86, 1),  # 0.869, 0.868 (0.827, 0.842); 2 of 13, 1 of 8
}


def test_every_chat_has_a_mood_per_customer_turn_and_a_calm_flag_that_agrees() -> None:
    assert len(LABELS) > 700 and len(CHAT_LABELS) == 289
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
    # 0.986 on 569 turns: 471 held-out turns of the earlier pools (140 of valid, 331 of train)
    # and 98 of real-chat4 in both halves (all agreed)
    ("chats", "second_reader", 0.98),
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


@pytest.fixture(scope="module")
def chats(tmp_path_factory: pytest.TempPathFactory) -> Path:
    out = tmp_path_factory.mktemp("chats")
    realtext.main([str(out), "--chats", str(CHAT_SOURCE)])
    return out


@pytest.mark.skipif(not (CHAT_SOURCE / "valid").is_dir(),
                    reason="set CS_REALCHAT_SOURCE to a checkout of github.com/WMT-Chat-task/chat-task-2024-data")
@pytest.mark.parametrize("part", list(CHAT_FLOORS))
def test_real_support_chats_read_better_than_bare_vader(chats: Path, part: str) -> None:
    """Real chats of a support platform, the customer side translated into English (by a
    professional, or by machine in real-chat-mt)."""
    report = evaluate(load_phrasebook(), load_labelled(sorted((chats / part).glob("*.jsonl"))))
    mood, calm_with_negative = CHAT_FLOORS[part]
    assert report.mood_sign_accuracy(1) >= mood, f"{part} mood {report.mood_sign_accuracy(1):.3f}"
    assert report.mood_sign_accuracy(1) > report.mood_sign_accuracy(2) + 0.02
    assert len(report.calm_with_negative) <= calm_with_negative
