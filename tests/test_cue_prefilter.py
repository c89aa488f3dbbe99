"""The detector's shortcuts never hide a match: a pattern skipped for a turn cannot match it.

`CueLibrary.detect` runs a pattern only when the turn has a word beginning with one of
the pattern's `starts` and contains its `needle`. Over a sample of every labelled turn,
each pattern that matches a turn must also pass both checks for it.
"""

from __future__ import annotations

import json
import re

from assist import load_phrasebook
from assist.cues import normalise, straighten, tokens, word_starts

from .conftest import DATA

BOOK = load_phrasebook()


def sample_turns(every: int = 5) -> list[str]:
    texts = []
    for path in sorted((DATA / "conversations").rglob("*.jsonl")):
        for line in path.read_text(encoding="utf-8").splitlines():
            event = json.loads(line)
            if event.get("type") == "message":
                texts.append(event["text"])
    return texts[::every]


def test_a_pattern_that_matches_a_turn_is_never_filtered_out() -> None:
    checked = 0
    for text in sample_turns():
        lowered = normalise(text)
        original = straighten(text)
        starts = {t[2][:3] for t in tokens(lowered)}
        for cue in BOOK.cues.cues.values():
            haystack = original if cue.case_sensitive else lowered
            for pattern in cue.patterns:
                if not pattern.regex.search(haystack):
                    continue
                checked += 1
                assert pattern.needle is None or pattern.needle in haystack, (cue.id, pattern.regex.pattern, text)
                assert pattern.starts is None or pattern.starts & starts, (cue.id, pattern.regex.pattern, text)
    assert checked > 500


def test_sentence_openings_lead_to_the_first_word() -> None:
    assert word_starts(re.compile(r"(?:^|[.!?,]\s*)again,? (?:my|our)\b")) == {"aga"}
    assert word_starts(re.compile(r"^\W*if\b[^.!?]{0,50}\?")) == {"if"}
    assert word_starts(re.compile(r"(?:^|[.!?]\s*)(?:oh,? )?if\b")) == {"oh", "if"}
    # an opening that may match nothing does not prove a word begins there
    assert word_starts(re.compile(r"(?:^|\s*)again")) is None
    assert word_starts(re.compile(r"(?:^|x)again")) is None
