"""Chat spellings: cues read "u", "pls", "dont" written out; quotes keep the text as written."""

from __future__ import annotations

import shutil
from pathlib import Path

import pytest

from assist import load_phrasebook
from assist.engine import Engine
from assist.errors import RuleFileError
from assist.spellings import Spellings

from .conftest import ROOT

BOOK = load_phrasebook()


def cues_of(text: str, role: str) -> dict[str, str]:
    """cue id -> quote of `text` as the first message of a chat."""
    engine = Engine(BOOK)
    engine.feed({"conversation": "c", "type": "start", "ts": 0})
    records = engine.feed({"conversation": "c", "type": "message", "ts": 1, "role": role, "text": text})
    record = next(r for r in records if r["kind"] == "turn")
    return {c["cue"]: c["quote"] for c in record["evidence"]["cues"]}


def test_written_out_forms_map_back_to_the_text_as_written() -> None:
    spell = Spellings({"u": "you", "pls": "please", "dont": "don't", "nvm": "never mind"})
    text = "Pls dont make u wait, nvm."
    expanded, back = spell.expand(text)
    assert expanded == "Please don't make you wait, never mind."
    assert back is not None
    for word, written in [("Please", "Pls"), ("don't", "dont"), ("you", "u"), ("never mind", "nvm"), ("make", "make")]:
        start = expanded.index(word)
        assert back.quote(start, start + len(word)) == written
    start = expanded.index("don't make you")
    assert back.quote(start, start + len("don't make you")) == "dont make u"
    assert spell.expand("nothing to write out here") == ("nothing to write out here", None)


def test_only_whole_words_are_written_out_and_no_capitals_are_made() -> None:
    spell = Spellings({"u": "you", "pls": "please", "im": "i'm"})
    assert spell.expand("umbrella, menu, u-turn, 'u'")[0] == "umbrella, menu, u-turn, 'u'"
    assert spell.expand("u'll see")[0] == "you'll see"
    assert spell.expand("PLS HELP")[0] == "please HELP"  # a shouted "PLS" does not become a shouted "PLEASE"
    assert spell.expand("Im here")[0] == "I'm here"
    split = Spellings({"doesn 't": "doesn't", "i 'll": "i'll"})
    assert split.expand("It doesn 't work, I 'll wait")[0] == "It doesn't work, I'll wait"
    assert split.expand("the 'forgotten' tab, doesn 'tis'")[0] == "the 'forgotten' tab, doesn 'tis'"


@pytest.mark.parametrize(("text", "expanded"), [
    ("u", "you"),                        # the whole text
    ("pls.", "please."),                  # at the start, before a full stop
    ("thank u!", "thank you!"),           # at the end, before a mark
    ("(u) and [pls]", "(you) and [please]"),
    ("call me b4 5, w/o fail", "call me before 5, without fail"),
    ("tell u\nthx", "tell you\nthanks"),  # across a line break
    ("ok, u'll see", "ok, you'll see"),
    ("u-turn, 'u', ur_name, mu", "u-turn, 'u', ur_name, mu"),  # not a word of its own
    ("café u", "café you"),             # a text that is not ASCII
])
def test_forms_are_found_wherever_a_word_can_stand(text: str, expanded: str) -> None:
    """The shipped list, through the RE2 gate that lets most turns skip the rewriting."""
    assert BOOK.cues.spellings.expand(text)[0] == expanded


@pytest.mark.parametrize(("text", "role", "cue", "quote"), [
    ("u must have deleted them urself", "agent", "argue", "u must have deleted"),
    ("pls call ur bank, we cant release it", "agent", "pass-buck", "pls call ur bank"),
    ("nvm i'll just wait", "customer", "resigned", "nvm"),
    # a contraction split by a space, as some machine translation writes it
    ("Your colleague doesn 't seem very comfortable with the truth.", "customer", "insult",
     "doesn 't seem very comfortable with the truth"),
])
def test_cues_read_chat_spellings_and_quote_them_as_written(text: str, role: str, cue: str, quote: str) -> None:
    assert cues_of(text, role).get(cue) == quote


def test_a_shouted_short_form_is_not_more_shouting() -> None:
    assert not {"shouting", "caps-emphasis"} & set(cues_of("ok THX, I will check tomorrow", "customer"))


def test_a_bad_spelling_entry_is_refused_with_its_line(tmp_path: Path) -> None:
    book = tmp_path / "phrasebooks"
    shutil.copytree(ROOT / "phrasebooks", book)
    (book / "cues" / "ours.yaml").write_text("spellings:\n  plz: please\n  Two Words: x\n  ty: 3\ncues: {}\n")
    with pytest.raises(RuleFileError) as err:
        load_phrasebook(book)
    text = str(err.value)
    assert f"{book / 'cues' / 'ours.yaml'}:3:3: spellings: 'Two Words' must be one word in lower case" in text
    assert f"{book / 'cues' / 'ours.yaml'}:4:7: spellings: 'ty' must stand for words in lower case" in text


def test_a_team_file_adds_a_spelling(tmp_path: Path) -> None:
    book = tmp_path / "phrasebooks"
    shutil.copytree(ROOT / "phrasebooks", book)
    text = "Ask for a mngr then."
    assert "pass-buck" not in cues_of(text, "agent")
    (book / "cues" / "ours.yaml").write_text("spellings:\n  mngr: manager\ncues: {}\n")
    engine = Engine(load_phrasebook(book))
    engine.feed({"conversation": "c", "type": "start", "ts": 0})
    records = engine.feed({"conversation": "c", "type": "message", "ts": 1, "role": "agent", "text": text})
    record = next(r for r in records if r["kind"] == "turn")
    assert {c["cue"]: c["quote"] for c in record["evidence"]["cues"]}.get("pass-buck") == "Ask for a mngr"
