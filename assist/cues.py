"""Cues: what a turn says, detected from word lists and patterns kept in data files.

Theory of operation
-------------------
A cue is a named thing a customer or an agent says ("policy-excuse", "legal-threat",
"shouting"). Each is defined in `phrasebooks/cues/*.yaml` by

* `phrases` - literal words, matched case-insensitively as whole words; any run of
  spaces matches any whitespace and an apostrophe is optional ("don't" finds "dont");
* `patterns` - Python regular expressions for what a list cannot say;
* `unless` - regular expressions that veto the cue in the sentence where it matched
  ("no problem" is not a "problem");
* simple text gates: `max_words`, `min_words`, `min_caps_ratio` (share of upper-case
  letters, for shouting), `case_sensitive` (patterns see the original letters);
* `sentiment` - how the cue moves the customer-service sentiment (see sentiment.py);
* `examples` - sentences that must and must not match, run by `assist check` and tests.

The code here is only the matching machinery; no word of any cue lives in Python.
Text is normalised without changing its length (lower case, curly quotes made
straight), so a match's span is also the span of the quote in the original text.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .schema import Field, read_mapping
from .yamlsrc import describe, load_yaml, value_where, where

CUE_ROLES = ("customer", "agent", "any")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
                         "\u00b4": "'", "`": "'"})
_SENTENCE_END = re.compile(r"[.!?\n]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")

SENTIMENT_FIELDS: dict[str, Field] = {
    "shift": Field("number", help="added to the score"),
    "at_most": Field("number", help="the score is lowered to at most this"),
    "at_least": Field("number", help="the score is raised to at least this"),
    "flip_positive": Field("bool", help="a positive base score is read as negative (sarcasm)"),
    "if_base_below": Field("number", help="apply only when VADER's score is below this"),
    "if_base_above": Field("number", help="apply only when VADER's score is above this"),
    "unless_cues": Field("strings", help="skip the effect when one of these cues is in the same turn"),
}

CUE_FIELDS: dict[str, Field] = {
    "role": Field("choice", required=True, choices=CUE_ROLES),
    "about": Field("str", required=True),
    "phrases": Field("strings", default=[]),
    "patterns": Field("strings", default=[]),
    "unless": Field("strings", default=[]),
    "case_sensitive": Field("bool", default=False),
    "max_words": Field("int", minimum=1),
    "min_words": Field("int", minimum=1),
    "min_caps_ratio": Field("number", minimum=0),
    "sentiment": Field("mapping"),
    "examples": Field("mapping", required=True),
}


@dataclass(frozen=True, slots=True)
class SentimentEffect:
    shift: float = 0.0
    at_most: float | None = None
    at_least: float | None = None
    flip_positive: bool = False
    if_base_below: float | None = None
    if_base_above: float | None = None
    unless_cues: frozenset[str] = frozenset()


@dataclass(frozen=True, slots=True)
class CueMatch:
    cue: str
    quote: str


@dataclass(frozen=True)
class Cue:
    id: str
    role: str
    about: str
    regex: re.Pattern[str] | None
    unless: re.Pattern[str] | None
    case_sensitive: bool
    max_words: int | None
    min_words: int | None
    min_caps_ratio: float | None
    sentiment: SentimentEffect | None
    match_examples: tuple[str, ...]
    no_match_examples: tuple[str, ...]
    where: Location

    def find(self, original: str, lowered: str, words: int) -> CueMatch | None:
        """The first quote of this cue in a turn, or None."""
        if self.max_words is not None and words > self.max_words:
            return None
        if self.min_words is not None and words < self.min_words:
            return None
        if self.min_caps_ratio is not None and _caps_ratio(original) < self.min_caps_ratio:
            return None
        if self.regex is None:  # a cue defined by its gates alone
            return CueMatch(self.id, original.strip()[:120])
        haystack = original if self.case_sensitive else lowered
        for m in self.regex.finditer(haystack):
            if self.unless is not None and self.unless.search(_sentence_around(lowered, m.start(), m.end())):
                continue
            return CueMatch(self.id, original[m.start():m.end()] or original.strip()[:120])
        return None


def _caps_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 6:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)


def _sentence_around(text: str, start: int, end: int) -> str:
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    right_m = _SENTENCE_END.search(text, end)
    right = right_m.start() if right_m else len(text)
    return text[left:right]


def normalise(text: str) -> str:
    """Lower case with straight quotes; the same length as `text` for span mapping."""
    straight = text.translate(_QUOTES)
    lowered = straight.lower()
    return lowered if len(lowered) == len(straight) else straight.casefold()[: len(straight)]


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


def phrase_to_regex(phrase: str) -> str:
    """A literal phrase as a regex: whole words, flexible spaces, optional apostrophes."""
    parts = []
    for ch in phrase.strip().lower().translate(_QUOTES):
        if ch.isspace():
            if not parts or parts[-1] != r"\s+":
                parts.append(r"\s+")
        elif ch == "'":
            parts.append("'?")
        else:
            parts.append(re.escape(ch))
    body = "".join(parts)
    return rf"(?<![\w']){body}(?![\w'])"


@dataclass
class CueLibrary:
    """All cues by id, with the per-role lists the detector walks."""

    cues: dict[str, Cue] = field(default_factory=dict)

    def __post_init__(self) -> None:
        self._by_role = {
            role: tuple(c for c in self.cues.values() if c.role in (role, "any"))
            for role in ("customer", "agent")
        }

    def detect(self, text: str, role: str) -> tuple[CueMatch, ...]:
        """Every cue of `role` found in `text`, in library order, each with its quote."""
        lowered = normalise(text)
        original = text.translate(_QUOTES)
        words = count_words(lowered)
        found = []
        for cue in self._by_role[role]:
            m = cue.find(original, lowered, words)
            if m is not None:
                found.append(m)
        return tuple(found)

    def ids(self) -> set[str]:
        return set(self.cues)

    def check_examples(self) -> list[Issue]:
        """Run every cue's own examples; an issue for each that goes the wrong way."""
        issues: list[Issue] = []
        for cue in self.cues.values():
            roles = ("customer", "agent") if cue.role == "any" else (cue.role,)
            for sentence in cue.match_examples:
                if not any(cue.id in {m.cue for m in self.detect(sentence, r)} for r in roles):
                    issues.append(Issue(cue.where, f"cue {cue.id!r}: example should match but does not: "
                                                   f"{sentence!r}"))
            for sentence in cue.no_match_examples:
                if any(cue.id in {m.cue for m in self.detect(sentence, r)} for r in roles):
                    issues.append(Issue(cue.where, f"cue {cue.id!r}: example should not match but does: "
                                                   f"{sentence!r}"))
        return issues


def _compile(file: str, node: Any, key: str, sources: list[str], issues: list[Issue], *,
             what: str, flags: int = 0) -> re.Pattern[str] | None:
    """One alternation of `sources`; each bad regex is reported at its own line."""
    good = []
    seq = node.get(key)
    for i, src in enumerate(sources):
        try:
            re.compile(src, flags)
        except re.error as exc:
            issues.append(Issue(where(file, seq, i), f"{what}: {key}[{i}] is not a valid regular "
                                                     f"expression: {exc.msg} at position {exc.pos}"))
            continue
        good.append(f"(?:{src})")
    return re.compile("|".join(good), flags) if good else None


def _read_cue(file: str, cue_id: str, node: Any, issues: list[Issue]) -> Cue | None:
    what = f"cue {cue_id!r}"
    start = len(issues)
    values = read_mapping(file, node, CUE_FIELDS, issues, what=what)
    if len(issues) > start or not values:
        return None
    case = bool(values["case_sensitive"])
    phrase_sources = [phrase_to_regex(p) for p in values["phrases"] if p.strip()]
    regex_parts = []
    phrase_regex = _compile(file, node, "phrases", phrase_sources, issues, what=what) if phrase_sources else None
    if phrase_regex is not None:
        regex_parts.append(phrase_regex.pattern)
    pattern_regex = _compile(file, node, "patterns", list(values["patterns"]), issues, what=what)
    if pattern_regex is not None:
        regex_parts.append(pattern_regex.pattern)
    unless = _compile(file, node, "unless", list(values["unless"]), issues, what=what)
    gates = any(values.get(k) is not None for k in ("max_words", "min_words", "min_caps_ratio"))
    if not regex_parts and not gates:
        issues.append(Issue(where(file, node), f"{what}: give at least one of 'phrases', 'patterns', "
                                               "'max_words', 'min_words' or 'min_caps_ratio'"))
        return None
    if case and values["phrases"]:
        issues.append(Issue(value_where(file, node, "case_sensitive"),
                            f"{what}: 'case_sensitive' applies to 'patterns' only; move the phrases "
                            "into a cue of their own"))
    effect = None
    if "sentiment" in values:
        sv = read_mapping(file, node["sentiment"], SENTIMENT_FIELDS, issues, what=f"{what} sentiment")
        effect = SentimentEffect(
            shift=float(sv.get("shift", 0.0)), at_most=sv.get("at_most"), at_least=sv.get("at_least"),
            flip_positive=bool(sv.get("flip_positive", False)),
            if_base_below=sv.get("if_base_below"), if_base_above=sv.get("if_base_above"),
            unless_cues=frozenset(sv.get("unless_cues", ())))
    ex = read_mapping(file, values["examples"],
                      {"match": Field("strings", default=[]), "no_match": Field("strings", default=[])},
                      issues, what=f"{what} examples")
    if not ex.get("match"):
        issues.append(Issue(value_where(file, node, "examples"),
                            f"{what}: examples need at least one sentence under 'match'"))
    if len(issues) > start:
        return None
    regex = re.compile("|".join(regex_parts), 0) if regex_parts else None
    return Cue(
        id=cue_id, role=values["role"], about=values["about"], regex=regex, unless=unless,
        case_sensitive=case, max_words=values.get("max_words"), min_words=values.get("min_words"),
        min_caps_ratio=values.get("min_caps_ratio"), sentiment=effect,
        match_examples=tuple(ex.get("match", [])), no_match_examples=tuple(ex.get("no_match", [])),
        where=where(file, node),
    )


def read_cue_file(file: str, data: Any, issues: list[Issue], into: dict[str, Cue]) -> None:
    """Add the cues of one parsed file to `into`; problems go to `issues`."""
    top = read_mapping(file, data, {"cues": Field("mapping", required=True)}, issues, what="cue file")
    cues = top.get("cues")
    if cues is None:
        return
    for cue_id in cues:
        if not isinstance(cue_id, str) or not _ID.match(cue_id):
            issues.append(Issue(where(file, cues, cue_id),
                                f"cue id {cue_id!r} must be lower-case words joined by '-', e.g. 'legal-threat'"))
            continue
        if cue_id in into and into[cue_id].where.file != file:
            issues.append(Issue(where(file, cues, cue_id), f"cue {cue_id!r} is already defined at "
                                                           f"{into[cue_id].where}", severity="warning"))
        cue = _read_cue(file, cue_id, cues[cue_id], issues)
        if cue is not None:
            into[cue_id] = cue
        elif cues[cue_id] is None:
            issues.append(Issue(where(file, cues, cue_id), f"cue {cue_id!r} is empty; got {describe(None)}"))


def check_references(cues: dict[str, Cue]) -> list[Issue]:
    """Cue ids named inside cues (`sentiment.unless_cues`) must exist."""
    issues = []
    for cue in cues.values():
        if cue.sentiment is None:
            continue
        for other in sorted(cue.sentiment.unless_cues - set(cues)):
            issues.append(Issue(cue.where, f"cue {cue.id!r}: sentiment.unless_cues names unknown cue "
                                           f"{other!r}{_suggest(other, cues)}"))
    return issues


def _suggest(word: str, cues: dict[str, Cue]) -> str:
    from .yamlsrc import suggest

    return suggest(word, list(cues))


def load_cues(paths: Iterable[Path | str]) -> CueLibrary:
    """Load cue files in order (later ones override by id); RuleFileError lists all issues."""
    issues: list[Issue] = []
    cues: dict[str, Cue] = {}
    for path in paths:
        try:
            data = load_yaml(path)
        except RuleFileError as exc:
            issues.extend(exc.issues)
            continue
        read_cue_file(str(path), data, issues, cues)
    issues.extend(check_references(cues))
    if any(i.severity == "error" for i in issues):
        raise RuleFileError(issues)
    return CueLibrary(cues)
