"""Agent replies written by people who never saw our cue files (bench/agent_replies.py).

Thirteen files of exchanges, each a customer message, the agent's reply and the prompts the
reply deserves (tests/data/agent-replies/README.md). The floors are the shares caught at the end
of the seventeenth session, rounded down: `development` files were read while writing agent
cues, `blind` ones only ever measured as these totals.
"""

from __future__ import annotations

import sys
from pathlib import Path

import pytest

from assist import load_phrasebook

from .conftest import ROOT

sys.path.insert(0, str(ROOT / "bench"))
import agent_replies  # noqa: E402

# caught share per warning: development 239/278, 129/145, 207/272; blind 60/116, 31/57, 32/133
# (the blind files l and m, written in the seventeenth session to avoid stock phrases, are the
# hardest: 23/52, 13/25 and 11/81 of them). Twentieth session: development 240/278, 129/145,
# 215/272 (a dispute answered with our records, more failure wordings, the fault put on the
# customer); blind 60/116, 31/57, 33/133
FLOORS = {"development": {"no-excuses": 0.86, "dont-pass-buck": 0.88, "dont-argue": 0.79},
          "blind": {"no-excuses": 0.51, "dont-pass-buck": 0.54, "dont-argue": 0.24}}
GOOD_WITH_A_PROMPT = {"development": 5, "blind": 5}  # of 395 and 164 good replies (5 and 5 at the start)


@pytest.fixture(scope="module")
def tallies() -> dict[str, agent_replies.Tally]:
    return {group: total for group, (_, total) in agent_replies.by_group(load_phrasebook()).items()}


def test_every_file_has_good_replies_and_bad_ones_of_each_kind() -> None:
    files = sorted(agent_replies.DATA.glob("*.jsonl"))
    assert {p.stem for p in files} == {n for names in agent_replies.GROUPS.values() for n in names}
    for path in files:
        items = agent_replies.read(path)
        assert len(items) >= 100, path
        assert sum(not i["prompts"] for i in items) >= 35, path
        for warning in agent_replies.WARNINGS:
            assert sum(warning in i["prompts"] for i in items) >= 12, (path, warning)


@pytest.mark.parametrize("group", list(FLOORS))
def test_the_agent_prompts_catch_bad_replies(tallies: dict[str, agent_replies.Tally], group: str) -> None:
    for warning, floor in FLOORS[group].items():
        assert tallies[group].recall(warning) >= floor, (group, warning, tallies[group].counts[warning])


@pytest.mark.parametrize("group", list(FLOORS))
def test_good_replies_are_left_alone(tallies: dict[str, agent_replies.Tally], group: str) -> None:
    assert tallies[group].good_fired <= GOOD_WITH_A_PROMPT[group]


def test_a_malformed_exchange_names_its_file_and_line(tmp_path: Path) -> None:
    path = tmp_path / "x.jsonl"
    path.write_text('{"customer": "hi", "customer_mood": "calm", "agent": "hello", "prompts": [], "why": "fine"}\n'
                    '{"customer": "hi", "customer_mood": "angry", "agent": "hello", "prompts": [], "why": "?"}\n')
    with pytest.raises(ValueError, match=rf"{path}:2: expected"):
        agent_replies.read(path)
