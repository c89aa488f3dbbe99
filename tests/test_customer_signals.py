"""Customer messages written by people who never saw our cue files (bench/customer_signals.py).

Floors: the shares found at the end of the sixteenth session, rounded down, and at most as
many messages given a signal their writer did not put there (tests/data/customer-signals).
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assist import load_phrasebook

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import customer_signals  # noqa: E402

# found: development 118/127, 83/103, 95/102, 87/105; blind 20/32, 17/26, 17/26, 23/26
FLOORS = {"development": {"threat": 0.92, "beyond-fair": 0.80, "giving-up": 0.93, "venting": 0.82},
          "blind": {"threat": 0.62, "beyond-fair": 0.65, "giving-up": 0.65, "venting": 0.88}}
# imagined (a signal on a message whose writer put none): at the start 18 / 0 / 2 / 3 and 3 / 0 / 2 / 1
IMAGINED = {"development": {"threat": 0, "beyond-fair": 0, "giving-up": 1, "venting": 3},
            "blind": {"threat": 0, "beyond-fair": 0, "giving-up": 1, "venting": 1}}


@pytest.fixture(scope="module")
def tallies() -> dict[str, dict[str, list[int]]]:
    return {group: total for group, (_, total) in customer_signals.by_group(load_phrasebook()).items()}


def test_every_file_has_each_signal_and_plain_messages() -> None:
    files = sorted(customer_signals.DATA.glob("*.jsonl"))
    assert {p.stem for p in files} == {n for names in customer_signals.GROUPS.values() for n in names}
    for path in files:
        items = customer_signals.read(path)
        assert len(items) >= 120 and sum(not i["signals"] for i in items) >= 35, path
        for signal in customer_signals.SIGNALS:
            assert sum(signal in i["signals"] for i in items) >= 20, (path, signal)


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
