"""The detector's RE2 prefilter never hides a match: a pattern it does not report cannot match.

`CueLibrary.detect` runs a cue pattern only when the pattern's widened form (see
`assist/prefilter.py`) matches the turn in RE2's filter. Over every labelled turn, and over
generated text, each pattern that matches a turn must be among the candidates.
"""

from __future__ import annotations

import re

import pytest
import re2
from hypothesis import given, settings
from hypothesis import strategies as st

from assist import load_phrasebook
from assist.cues import normalise, straighten
from assist.prefilter import PatternSet, Unwidenable, widen

from .conftest import DATA, load_jsonl

BOOK = load_phrasebook()


def labelled_turns() -> list[str]:
    return [event["text"] for path in sorted((DATA / "conversations").rglob("*.jsonl"))
            for event in load_jsonl(path) if event.get("type") == "message"]


def library_sets() -> list[tuple[bool, list[re.Pattern[str]], PatternSet]]:
    lib = BOOK.cues
    out = []
    for role in ("customer", "agent"):
        for case in (False, True):
            flat, patterns = lib._patterns[role, case]  # noqa: SLF001 - the detector's own sets
            out.append((case, [p for _, p in flat], patterns))
    return out


SETS = library_sets()


def missed(text: str) -> list[str]:
    """Patterns that match `text` but are not among the prefilter's candidates."""
    lowered, original = normalise(text), straighten(text)
    out = []
    for case, patterns, pset in SETS:
        haystack = original if case else lowered
        reported = set(pset.candidates(haystack))
        out += [p.pattern for i, p in enumerate(patterns) if i not in reported and p.search(haystack)]
    return out


def test_every_library_pattern_can_be_widened() -> None:
    assert all(not pset.always for _, _, pset in SETS)
    assert sum(pset.size for _, _, pset in SETS) > 400


def test_a_pattern_that_matches_a_labelled_turn_is_never_filtered_out() -> None:
    # An even sample of about 6,500 labelled turns, however large the corpus grows: every
    # pattern is run on each, so the whole corpus (over 30,000 turns) would take minutes;
    # the cues' own examples below cover every pattern.
    turns = labelled_turns()
    checked = 0
    for text in turns[::max(3, len(turns) // 6500)]:
        assert missed(text) == [], text
        checked += 1
    assert checked > 6000


def test_a_pattern_that_matches_a_cue_example_is_never_filtered_out() -> None:
    sentences = [s for cue in BOOK.cues.cues.values() for s in (*cue.match_examples, *cue.no_match_examples)]
    for text in sentences:
        assert missed(text) == [], text
    assert len(sentences) > 2000


def test_the_prefilter_lets_few_patterns_through() -> None:
    turns = labelled_turns()[::7]
    reported = sum(len(pset.candidates(normalise(t))) for t in turns for case, _, pset in SETS if not case)
    total = sum(pset.size for case, _, pset in SETS if not case)
    assert reported / len(turns) < total / 20  # most turns meet a handful of patterns, not hundreds


PIECES = st.sampled_from(["i", "you", "again", "never", "refund", "charged", "twice", "two times", "still",
                          "not", "waiting", "thank you", "great", "perfect", "!", "?", ".", ",", "'", "  ",
                          "ll", "don't", "ÉTÉ", "über", "🙂", "\n", "3", "days", "for", "the", "me", "my"])


@settings(max_examples=300, deadline=None)
@given(st.lists(PIECES, min_size=1, max_size=14).map(" ".join))
def test_generated_text_never_hides_a_match(text: str) -> None:
    assert missed(text) == []


def test_widening_keeps_what_the_python_pattern_matches() -> None:
    cases = [
        (r"(?<![\w'])again(?![\w'])", ["again", "so again.", "é again"]),
        (r"\bcharged?\b (?:\w+ ){0,2}twice", ["you charged me twice", "charge them all twice"]),
        (r"^(?:(?!\bno\b)[\s\S]){0,300}?\bperfect\b", ["that is perfect", "perfect"]),
        (r"\W+again", ["!!again", "\u00a0again"]),
        (r"[^\w\s]{2,}", ["?!", "🙂🙂"]),
        (r"\s+", ["\u2003", "\x1c", "\u3000"]),
        (r"(a)\1", ["aa"]),
        (r"(?>ab|a)c", ["ac", "abc"]),
        (r"x++y", ["xxy"]),
        (r"\d{3,}", ["١٢٣", "123"]),
        (r"(?i)Refund", ["REFUND", "refund"]),
        (r"\bno\b", ["no", "é no!", "no é", "«no»", "1 no"]),
        (r"\b(?:ok|fine)\b\W*$", ["ok", "fine...", "über ok"]),
        (r"(?i)k\b", ["\u212a!", "K."]),  # the Kelvin sign folds to k: no ASCII \b under IGNORECASE
        (r"é\b", ["café!", "é"]),
        (r"\b(\w{3,})[,.!]+\s+\1\b", ["never, never", "nunca, nunca", "élan. élan"]),
        (r"\bk{4,}\b|\b(?:ha){3,}h?\b", ["kkkk", "hahaha", "jajaja hahahah"]),
    ]
    for source, texts in cases:
        rset = re2.compile(widen(re.compile(source)))
        for text in texts:
            assert re.search(source, text), (source, text)
            assert rset.search(text), (source, widen(re.compile(source)), text)


def test_widening_stays_narrow_where_it_safely_can() -> None:
    narrow = [
        (r"\bno\b", ["not now", "i know", "nobody"]),  # \b next to an ASCII letter is kept
        (r"\bk{4,}\b", ["ok", "kk", "thanks"]),  # a long repeat keeps its minimum
        (r"\b(\w{3,})[,.!]+\s+\1\b", ["ok, fine", "well. no"]),  # backreference: the group's pattern
    ]
    for source, texts in narrow:
        rset = re2.compile(widen(re.compile(source)))
        for text in texts:
            assert not rset.search(text), (source, widen(re.compile(source)), text)


def test_a_construct_without_widening_is_run_every_time() -> None:
    pset = PatternSet([re.compile(r"refund"), re.compile(r"x", re.ASCII)])  # ASCII: no safe widening
    assert pset.always == [1]
    assert pset.candidates("no match here") == [1]
    assert pset.candidates("my refund") == [0, 1]
    with pytest.raises(Unwidenable):
        widen(re.compile(r"x", re.ASCII))


def test_text_re2_cannot_read_runs_every_pattern() -> None:
    pset = PatternSet([re.compile(r"refund"), re.compile(r"again")])
    assert pset.candidates("lone \ud800 surrogate") == [0, 1]


def test_a_pattern_over_its_memory_budget_runs_every_time() -> None:
    patterns = [re.compile(rf"(?:abc|def)[a-z]*x{{0,4}}y{i}") for i in range(30)]
    pset = PatternSet(patterns, max_mem=200)  # RE2 cannot compile one of them in 200 bytes
    assert pset.always == list(range(30))
    assert pset.candidates("nothing") == list(range(30))
    assert PatternSet(patterns).candidates("abcxy3 and defxxy7") == [3, 7]  # with room: only what matches


def test_a_filter_re2_cannot_compile_is_split_and_a_refused_pattern_is_run_once(
        monkeypatch: pytest.MonkeyPatch) -> None:
    # RE2's own refusals are hard to provoke on small inputs: make RE2 refuse one pattern and any filter of
    # more than 3, so the splitting runs as it would for a filter whose atoms are over RE2's memory budget
    real_add, real_compile = re2.Filter.Add, re2.Filter.Compile

    def add(self: re2.Filter, pattern: str, options: re2.Options | None = None) -> int:
        if "refused" in pattern:
            raise re2.error("refused")
        return real_add(self, pattern, options)

    def compile_(self: re2.Filter) -> None:
        if len(self._patterns) > 3:
            raise re2.error("failed to compile Filter")
        real_compile(self)

    monkeypatch.setattr(re2.Filter, "Add", add)
    monkeypatch.setattr(re2.Filter, "Compile", compile_)
    pset = PatternSet([re.compile(w) for w in ("refund", "refused", "again", "never", "twice", "late")])
    assert pset.always == [1]
    assert len(pset._filters) > 1  # noqa: SLF001
    assert pset.candidates("late again, refund twice") == [0, 1, 2, 4, 5]


def test_patterns_without_atoms_are_checked_in_one_set_not_on_every_turn() -> None:
    # "!{2,}" and "^\W*k\W*$" have no literal of three characters for a filter to look for: they used to
    # pass every filter and be run by RE2 on every turn; now one RE2 set says which of them match
    patterns = [re.compile(r"refund"), re.compile(r"!{2,}"), re.compile(r"^\W*k\W*$"), re.compile(r"again")]
    pset = PatternSet(patterns)
    assert pset._bare is not None and pset._bare[1] == [1, 2]  # noqa: SLF001
    assert sorted(i for _, index in pset._filters for i in index.values()) == [0, 3]  # noqa: SLF001
    assert pset.candidates("nothing here") == []
    assert pset.candidates("refund!!") == [0, 1]
    assert pset.candidates(" k ") == [2]
    assert pset.candidates("again and again!!") == [1, 3]


def test_a_text_the_set_gives_up_on_runs_every_pattern_of_the_set(monkeypatch: pytest.MonkeyPatch) -> None:
    pset = PatternSet([re.compile(r"refund"), re.compile(r"!{2,}"), re.compile(r"\?{2,}")])
    # RE2 reports nothing at all, not even the pattern that matches every text, when its DFA runs out of room
    monkeypatch.setattr(re2.Set, "Match", lambda self, text: None)
    assert pset.candidates("my refund") == [0, 1, 2]
