"""Customer messages written by people who never saw our cue files (bench/customer_signals.py).

Floors: the shares found at the end of the seventeenth session, rounded down, and at most as
many messages given a signal their writer did not put there (tests/data/customer-signals).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assist import load_phrasebook
from assist.engine import Engine

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import customer_signals  # noqa: E402

# found: development 177/197, 119/153, 118/152, 138/166; blind 41/67, 28/51, 25/51, 47/56
# (f-g joined development and h the blind group in the seventeenth session). Twentieth session
# (demand-beyond's wider reading): beyond-fair 140/153 development, 33/51 blind
FLOORS = {"development": {"threat": 0.89, "beyond-fair": 0.91, "giving-up": 0.77, "venting": 0.83},
          "blind": {"threat": 0.61, "beyond-fair": 0.64, "giving-up": 0.49, "venting": 0.83}}
# imagined (a signal on a message whose writer put none); in the blind group, h's six imagined
# threats were there on its first look; four are left after the seventeenth session's vetoes
IMAGINED = {"development": {"threat": 0, "beyond-fair": 0, "giving-up": 1, "venting": 6},
            "blind": {"threat": 4, "beyond-fair": 0, "giving-up": 2, "venting": 1}}


# the calm files: 25 / 3 / 7 / 14 imagined at the start of the seventeenth session, which read them
CALM_IMAGINED = {"threat": 0, "beyond-fair": 3, "giving-up": 2, "venting": 14}


@pytest.fixture(scope="module")
def tallies() -> dict[str, dict[str, list[int]]]:
    return {group: total for group, (_, total) in customer_signals.by_group(load_phrasebook()).items()}


def test_every_file_has_each_signal_and_plain_messages() -> None:
    files = sorted(customer_signals.DATA.glob("*.jsonl"))
    assert {p.stem for p in files} == {n for names in customer_signals.GROUPS.values() for n in names}
    calm = set(customer_signals.GROUPS["calm"])
    for path in files:
        items = customer_signals.read(path)
        if path.stem in calm:
            assert len(items) >= 150 and not any(i["signals"] for i in items), path
            continue
        assert len(items) >= 120 and sum(not i["signals"] for i in items) >= 35, path
        for signal in customer_signals.SIGNALS:
            assert sum(signal in i["signals"] for i in items) >= 20, (path, signal)


def test_calm_messages_with_words_that_sound_like_a_signal_are_left_calm(
        tallies: dict[str, dict[str, list[int]]]) -> None:
    """400 calm messages that name a lawyer, a chargeback, a review, cancelling or a regulator
    (tests/data/customer-signals/calm-*): at the start of the seventeenth session 25 of them were
    read as threats, so as upset turns that alert a supervisor."""
    for signal, most in CALM_IMAGINED.items():
        found, missed, imagined, _ = tallies["calm"][signal]
        assert found == missed == 0
        assert imagined <= most, (signal, imagined)


def test_most_calm_messages_with_alarming_words_are_not_read_as_upset() -> None:
    """Their mood, the call the panel shows: 77 of the 400 read as upset at the start of the
    seventeenth session (VADER reads "deceased", "blocked", "sick" and "damn" as harsh), 51 at
    its end (the threat vetoes, and praise in slang: "the new level is SICK, keep it up 🔥")."""
    book = load_phrasebook()
    upset = 0
    for name in customer_signals.GROUPS["calm"]:
        for item in customer_signals.read(customer_signals.DATA / f"{name}.jsonl"):
            engine = Engine(book)
            engine.feed({"conversation": "x", "type": "start", "ts": 0})
            records = engine.feed({"conversation": "x", "type": "message", "ts": 1, "role": "customer",
                                   "text": item["text"]})
            upset += next(r for r in records if r["kind"] == "turn")["mood"] == "upset"
    assert upset <= 51


@pytest.mark.parametrize("group", list(FLOORS))
def test_the_customer_cues_find_what_the_writers_put_there(tallies: dict[str, dict[str, list[int]]],
                                                           group: str) -> None:
    for signal, floor in FLOORS[group].items():
        found, missed, imagined, _ = tallies[group][signal]
        assert found / (found + missed) >= floor, (group, signal, found, missed)
        assert imagined <= IMAGINED[group][signal], (group, signal, imagined)


def test_a_malformed_message_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"text": "hi", "signals": [], "why": "plain"}\n{"text": "hi", "signals": ["rage"], "why": "?"}\n')
    with pytest.raises(ValueError, match=rf"{path}:2: expected"):
        customer_signals.read(path)
