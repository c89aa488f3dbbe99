"""Cues: what a turn says, detected from word lists and patterns kept in data files.

Theory of operation
-------------------
A cue is a named thing a customer or an agent says ("policy-excuse", "legal-threat",
"shouting"). Each is defined in `phrasebooks/cues/*.yaml` by

* `phrases` - literal words, matched case-insensitively as whole words; any run of
  spaces matches any whitespace and an apostrophe is optional ("don't" finds "dont");
* `patterns` - Python regular expressions for what a list cannot say;
* `unless` - regular expressions that veto the cue in the sentence where it matched
  ("no problem" is not a "problem"); the sentence runs up to its end mark, without it;
* simple text gates: `max_words`, `min_words`, `min_caps_ratio` (share of upper-case
  letters, for shouting), `case_sensitive` (patterns see the original letters);
* `sentiment` - how the cue moves the customer-service sentiment (see sentiment.py);
* `examples` - sentences that must and must not match, run by `assist check` and tests.

A cue file may also list `masked_data`: patterns for the placeholders a support platform
puts where it masked personal data ("#NAME#", "PRS-ORG", "<EMAIL>"). They are written in
capitals but nobody raised their voice: case-sensitive patterns and the capitals gate see
them in lower case. Quotes still come from the text as written.

It may also list `spellings`: chat forms and the words they stand for ("u": "you",
"pls": "please", "dont": "don't"). Phrases and patterns see the text with them written
out (assist/spellings.py); quotes are mapped back to the text as written.

The code here is only the matching machinery; no word of any cue lives in Python.
Text is normalised without changing its length (lower case, curly quotes made
straight), so a match's span is also the span of the quote in the original text; where
spellings were written out, a `SpanMap` takes the span back to the text as written.
"""

from __future__ import annotations

import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from .errors import Issue, Location, RuleFileError
from .prefilter import PatternSet
from .schema import Field, read_mapping
from .spellings import SpanMap, Spellings, read_spellings
from .yamlsrc import describe, load_yaml, value_where, where

CUE_ROLES = ("customer", "agent", "any")
_QUOTES = str.maketrans({"\u2019": "'", "\u2018": "'", "\u02bc": "'", "\u201c": '"', "\u201d": '"',
                         "\u00b4": "'", "`": "'"})
_SENTENCE_END = re.compile(r"[.!?\n]+")
_WORD = re.compile(r"[^\W_]+(?:'[^\W_]+)?")
_ID = re.compile(r"^[a-z][a-z0-9]*(?:-[a-z0-9]+)*$")
_TOKEN = re.compile(r"[\w']+")

SENTIMENT_FIELDS: dict[str, Field] = {
    "shift": Field("number", help="added to the score"),
    "at_most": Field("number", help="the score is lowered to at most this"),
    "at_least": Field("number", help="the score is raised to at least this"),
    "flip_positive": Field("bool", help="a positive base score is read as negative (sarcasm)"),
    "if_base_below": Field("number", help="apply only when VADER's score is below this"),
    "if_base_above": Field("number", help="apply only when VADER's score is above this"),
    "unless_cues": Field("strings", help="skip the effect when one of these cues is in the same turn"),
    "set_aside": Field("choice", choices=("in-complaints", "always", "outside-complaints"),
                       help="this cue's words carry no feeling: VADER scores the turn without them in a "
                            "complaint ('in-complaints'), also when they alone make a turn positive ('always'), "
                            "or when they alone make a turn without a complaint negative ('outside-complaints')"),
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
    set_aside: re.Pattern[str] | None = None  # every phrase and pattern of the cue, to take out of the turn
    set_aside_when: str = ""  # in-complaints | always | outside-complaints


@dataclass(frozen=True, slots=True)
class CueMatch:
    cue: str
    quote: str


@dataclass(frozen=True)
class Cue:
    id: str
    role: str
    about: str
    phrases: tuple[str, ...]
    patterns: tuple[re.Pattern[str], ...]
    unless: re.Pattern[str] | None
    case_sensitive: bool
    max_words: int | None
    min_words: int | None
    min_caps_ratio: float | None
    sentiment: SentimentEffect | None
    match_examples: tuple[str, ...]
    no_match_examples: tuple[str, ...]
    where: Location

    def find(self, original: str, lowered: str, words: int,
             phrase_spans: Iterable[tuple[int, int]], patterns: Iterable[re.Pattern[str]],
             cased: str, back: SpanMap | None = None) -> CueMatch | None:
        """The first quote of this cue in a turn, or None.

        `phrase_spans` are where this cue's phrases occur and `patterns` the ones worth
        running; `CueLibrary.detect` finds both for all cues at once. `cased` is the text
        case-sensitive patterns and the capitals gate see (masked data in lower case).
        `back` maps spans of a text whose chat spellings were written out to the text as written.
        """
        if self.max_words is not None and words > self.max_words:
            return None
        if self.min_words is not None and words < self.min_words:
            return None
        if self.min_caps_ratio is not None and _caps_ratio(cased) < self.min_caps_ratio:
            return None
        if not self.phrases and not self.patterns:  # a cue defined by its gates alone
            return CueMatch(self.id, (back.source if back else original).strip()[:120])
        best: tuple[int, int] | None = None
        for start, end in phrase_spans:
            if self._kept(lowered, start, end):
                best = (start, end)
                break
        haystack = cased if self.case_sensitive else lowered
        for pattern in patterns:
            for m in pattern.finditer(haystack):
                if best is not None and m.start() >= best[0]:
                    break
                if self._kept(lowered, m.start(), m.end()):
                    best = (m.start(), m.end())
                    break
        if best is None:
            return None
        if back is not None:
            return CueMatch(self.id, back.quote(*best) or back.source.strip()[:120])
        return CueMatch(self.id, original[best[0]:best[1]] or original.strip()[:120])

    def _kept(self, lowered: str, start: int, end: int) -> bool:
        return self.unless is None or not self.unless.search(_sentence_around(lowered, start, end))


_NOT_INDEXABLE = re.compile(r"[^\w\s'\-]")
_PHRASE_SEPARATOR = re.compile(r"(\s+|-)")


class PhraseIndex:
    """Every literal phrase of one role in a word trie, matched in one pass over a turn's words.

    Words are runs of letters, digits and apostrophes; apostrophes are ignored ("dont"
    finds "don't"). Between two words of a phrase the text must have what the phrase
    has: white space for a space, the same hyphen for a hyphen.
    """

    END = ""

    def __init__(self) -> None:
        self.root: dict[str, Any] = {}

    @staticmethod
    def keys(phrase: str) -> tuple[list[str], list[str]] | None:
        """The words of `phrase` and what separates them (" " or "-"); None when it has
        characters only a regex can match."""
        text = phrase.strip().lower().translate(_QUOTES)
        if not text or _NOT_INDEXABLE.search(text) or text.startswith("-") or text.endswith("-"):
            return None
        parts = _PHRASE_SEPARATOR.split(text)
        words = [w.replace("'", "") for w in parts[0::2]]
        if any(not w for w in words):
            return None
        return words, ["-" if sep == "-" else " " for sep in parts[1::2]]

    def add(self, phrase: str, cue: str) -> bool:
        """Index `phrase` for `cue`; False when it has characters only a regex can match."""
        keys = self.keys(phrase)
        if keys is None:
            return False
        words, seps = keys
        node: dict[Any, Any] = self.root
        for i, word in enumerate(words):
            key: str | tuple[str, str] = word if i == 0 else (seps[i - 1], word)
            node = node.setdefault(key, {})
        node.setdefault(self.END, set()).add(cue)
        return True

    def spans(self, lowered: str, tokens: list[tuple[int, int, str]]) -> dict[str, list[tuple[int, int]]]:
        """cue id -> spans of its phrases in `lowered` (whose `tokens()` are given), in text order."""
        found: dict[str, list[tuple[int, int]]] = {}
        root = self.root
        for i, (start, end, word) in enumerate(tokens):
            node = root.get(word)
            j = i
            while node is not None:
                for cue in node.get(self.END, ()):
                    found.setdefault(cue, []).append((start, tokens[j][1]))
                if j + 1 >= len(tokens):
                    break
                gap = lowered[tokens[j][1]:tokens[j + 1][0]]
                sep = "-" if gap == "-" else " " if gap and gap.isspace() else None
                if sep is None:
                    break
                j += 1
                node = node.get((sep, tokens[j][2]))
        return found


def tokens(lowered: str) -> list[tuple[int, int, str]]:
    """(start, end, word without apostrophes) for every word of a normalised text."""
    return [(m.start(), m.end(), m.group().replace("'", "")) for m in _TOKEN.finditer(lowered)]


def _caps_ratio(text: str) -> float:
    letters = [c for c in text if c.isalpha()]
    if len(letters) < 6:
        return 0.0
    return sum(1 for c in letters if c.isupper()) / len(letters)


def _lower(match: re.Match[str]) -> str:
    return match.group().lower()


def _sentence_around(text: str, start: int, end: int) -> str:
    """The sentence of `text` that holds [start, end), with the marks that end it ("?", "!"),
    so that an `unless` pattern can tell a question from a statement."""
    left = 0
    for m in _SENTENCE_END.finditer(text, 0, start):
        left = m.end()
    right_m = _SENTENCE_END.search(text, end)
    right = right_m.end() if right_m else len(text)
    return text[left:right]


def straighten(text: str) -> str:
    """`text` with straight quotes and apostrophes, the form case-sensitive patterns see."""
    return text.translate(_QUOTES)


def normalise(text: str) -> str:
    """Lower case with straight quotes; the same length as `text` for span mapping."""
    straight = straighten(text)
    lowered = straight.lower()
    return lowered if len(lowered) == len(straight) else straight.casefold()[: len(straight)]


def count_words(text: str) -> int:
    return len(_WORD.findall(text))


_WORD_START, _WORD_END = r"(?<![\w'])", r"(?![\w'])"


def phrase_to_regex(phrase: str) -> str:
    """A literal phrase as a regex: whole words, flexible spaces, optional apostrophes."""
    return rf"{_WORD_START}{_phrase_body(phrase)}{_WORD_END}"


def _phrase_body(phrase: str) -> str:
    """The phrase's own part of `phrase_to_regex`, without the word boundaries around it."""
    parts: list[str] = []
    for ch in phrase.strip().lower().translate(_QUOTES):
        if ch.isspace():
            if not parts or parts[-1] != r"\s+":
                parts.append(r"\s+")
        elif ch == "'":
            parts.append("'?")
        else:
            parts.append(re.escape(ch))
    return "".join(parts)


@dataclass
class CueLibrary:
    """All cues by id, with the per-role lists the detector walks."""

    cues: dict[str, Cue] = field(default_factory=dict)
    masked_data: tuple[re.Pattern[str], ...] = ()
    spellings: Spellings = field(default_factory=Spellings)

    def __post_init__(self) -> None:
        self._masked: tuple[re.Pattern[str], ...] = ()
        if self.masked_data:
            try:  # one pass for all of them
                self._masked = (re.compile("|".join(as_group(p) for p in self.masked_data)),)
            except re.error:  # the same group name in two of them: each runs on its own
                self._masked = self.masked_data
        self._by_role = {
            role: tuple(c for c in self.cues.values() if c.role in (role, "any"))
            for role in ("customer", "agent")
        }
        self._phrases: dict[str, PhraseIndex] = {}
        # per role and haystack (lowered text; original letters for case-sensitive cues):
        # every (cue, pattern), and the RE2 filter over them that says which may match a turn
        self._patterns: dict[tuple[str, bool], tuple[list[tuple[Cue, re.Pattern[str]]], PatternSet]] = {}
        self._bare: dict[str, tuple[Cue, ...]] = {}  # cues of gates alone
        for role, cues in self._by_role.items():
            index = self._phrases[role] = PhraseIndex()
            for cue in cues:
                for phrase in cue.phrases:
                    index.add(phrase, cue.id)
            for case in (False, True):
                flat = [(cue, pattern) for cue in cues if cue.case_sensitive == case for pattern in cue.patterns]
                self._patterns[role, case] = (flat, PatternSet([pattern for _, pattern in flat]))
            self._bare[role] = tuple(c for c in cues if not c.phrases and not c.patterns)

    def detect(self, text: str, role: str) -> tuple[CueMatch, ...]:
        """Every cue of `role` found in `text`, in library order, each with its quote."""
        original = straighten(text)
        words = count_words(original)
        original, back = self.spellings.expand(original)
        lowered = normalise(original)
        cased = original
        for masked in self._masked:
            cased = masked.sub(_lower, cased)
        spans = self._phrases[role].spans(lowered, tokens(lowered))
        candidates: dict[str, list[re.Pattern[str]]] = {}
        for case, haystack in ((False, lowered), (True, cased)):
            flat, patterns = self._patterns[role, case]
            for j in patterns.candidates(haystack):
                cue, pattern = flat[j]
                candidates.setdefault(cue.id, []).append(pattern)
        for cue_id in spans:
            candidates.setdefault(cue_id, [])
        for cue in self._bare[role]:
            candidates.setdefault(cue.id, [])
        found = []
        for cue in self._by_role[role]:
            if cue.id in candidates:
                m = cue.find(original, lowered, words, spans.get(cue.id, ()), candidates[cue.id], cased, back)
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


# "\bn't" or "\b(?:not|n't)": a word boundary before the n of "doesn't" never holds
_BOUNDARY_BEFORE_NT = re.compile(r"\\b(?:\(\?:(?:[^()|]*\|)*)?n'")


def _compile_each(file: str, node: Any, key: str, sources: list[str], issues: list[Issue], *,
                  what: str) -> list[re.Pattern[str]]:
    """Each of `sources` compiled on its own; each bad regex is reported at its own line."""
    good = []
    seq = node.get(key)
    for i, src in enumerate(sources):
        try:
            good.append(re.compile(src))
        except re.error as exc:
            issues.append(Issue(where(file, seq, i), f"{what}: {key}[{i}] is not a valid regular "
                                                     f"expression: {exc.msg} at position {exc.pos}"))
            continue
        if _BOUNDARY_BEFORE_NT.search(src):
            issues.append(Issue(where(file, seq, i), f"{what}: {key}[{i}] puts \\b right before n't, which "
                                                     "then never matches after a letter (\"doesn't\", \"isn't\"); "
                                                     "write (?:\\bnot|n't)", severity="warning"))
    return good


_LEADING_FLAGS = re.compile(r"\(\?([aiLmsux]+)\)")


def as_group(pattern: re.Pattern[str]) -> str:
    """`pattern` as a group to join with others: flags at its start ("(?i)...") become the
    group's own ("(?i:...)"), since Python allows global flags only at the start of the whole."""
    lead = _LEADING_FLAGS.match(pattern.pattern)
    return f"(?{lead.group(1)}:{pattern.pattern[lead.end():]})" if lead else f"(?:{pattern.pattern})"


def _compile(file: str, node: Any, key: str, sources: list[str], issues: list[Issue], *,
             what: str) -> re.Pattern[str] | None:
    """One alternation of `sources` (for `unless`); each bad regex is reported at its own line.
    Flags at the start of one ("(?i)...") become flags of its own group in the alternation."""
    good = _compile_each(file, node, key, sources, issues, what=what)
    if not good:
        return None
    return _joined([as_group(p) for p in good], 0, issues, where(file, node, key),
                   f"{what}: {key} cannot be joined into one expression")


def _joined(parts: list[str], flags: int, issues: list[Issue], spot: Location,
            problem: str) -> re.Pattern[str] | None:
    """`parts` as one alternation; when they cannot be joined (the same group name in two of
    them), an issue at `spot` saying `problem` and why, and None."""
    try:
        return re.compile("|".join(parts), flags)
    except re.error as exc:
        issues.append(Issue(spot, f"{problem}: {exc.msg}"))
        return None


EXPANSION_LIMIT = 400


def expand(pattern: re.Pattern[str]) -> list[str] | None:
    """Every text a finite `\\b...\\b` pattern matches (at most EXPANSION_LIMIT), else None.

    Such a pattern is a word list written compactly; its texts go into the phrase index,
    which matches them all in one pass over the words instead of one regex scan each.
    """
    from re import _constants as c  # type: ignore[attr-defined]
    from re import _parser  # type: ignore[attr-defined]

    source = pattern.pattern
    if pattern.flags & re.IGNORECASE or not (source.startswith("\\b") and source.endswith("\\b")):
        return None  # (the parse below would say so too, more slowly)
    try:
        tree = list(_parser.parse(source, pattern.flags))
    except Exception:
        return None
    edge = (c.AT, c.AT_BOUNDARY)
    if len(tree) < 3 or tree[0] != edge or tree[-1] != edge:
        return None

    def seq(items: Any) -> list[str] | None:
        out = [""]
        for op, av in items:
            if op is c.LITERAL:
                out = [s + chr(av) for s in out]
            elif op is c.SUBPATTERN and not (av[1] or av[2]):
                sub = seq(av[3])
                if sub is None:
                    return None
                out = [a + b for a in out for b in sub]
            elif op is c.BRANCH:
                alts: list[str] = []
                for branch in av[1]:
                    sub = seq(branch)
                    if sub is None:
                        return None
                    alts += sub
                out = [a + b for a in out for b in alts]
            elif op in (c.MAX_REPEAT, c.MIN_REPEAT) and av[1] == 1:
                sub = seq(av[2])
                if sub is None:
                    return None
                out = [a + b for a in out for b in sub + ([""] if av[0] == 0 else [])]
            else:
                return None
            if len(out) > EXPANSION_LIMIT:
                return None
        return out

    return seq(tree[1:-1])


def _aside_regex(file: str, node: Any, what: str, phrases: Iterable[str], patterns: Iterable[re.Pattern[str]],
                 issues: list[Issue]) -> re.Pattern[str] | None:
    """All of a cue's phrases (longest first) and patterns as one case-insensitive regex.

    The phrases share one pair of word boundaries, "(?<![\\w'])(?:a|b|...)(?![\\w'])": the same
    matches as each phrase with its own, but Python's re then tries the alternatives only where
    a word starts, instead of at every character (4-7 times faster, bench/README.md)."""
    ordered = sorted((p for p in phrases if p.strip()), key=len, reverse=True)
    parts = [f"{_WORD_START}(?:{'|'.join(_phrase_body(p) for p in ordered)}){_WORD_END}"] if ordered else []
    parts += [as_group(p) for p in patterns]
    return _joined(parts, re.IGNORECASE, issues, where(file, node, "patterns"),
                   f"{what}: its phrases and patterns cannot be set aside as one expression")


def _read_cue(file: str, cue_id: str, node: Any, issues: list[Issue]) -> Cue | None:
    what = f"cue {cue_id!r}"
    start = len(issues)
    values = read_mapping(file, node, CUE_FIELDS, issues, what=what)
    if len(issues) > start or not values:
        return None
    case = bool(values["case_sensitive"])
    indexed: list[str] = []  # phrases the word index can match; the others become regexes
    compiled: list[re.Pattern[str]] = []
    for phrase in (p for p in values["phrases"] if p.strip()):
        if PhraseIndex.keys(phrase) is not None:
            indexed.append(phrase)
        else:
            compiled.append(re.compile(phrase_to_regex(phrase)))
    for pattern in _compile_each(file, node, "patterns", list(values["patterns"]), issues, what=what):
        texts = None if case else expand(pattern)
        if texts and all(PhraseIndex.keys(t) is not None for t in texts):
            indexed.extend(texts)  # a word list in regex clothing: matched through the index
        else:
            compiled.append(pattern)
    unless = _compile(file, node, "unless", list(values["unless"]), issues, what=what)
    gates = any(values.get(k) is not None for k in ("max_words", "min_words", "min_caps_ratio"))
    if not indexed and not compiled and not gates:
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
            unless_cues=frozenset(sv.get("unless_cues", ())),
            set_aside=_aside_regex(file, node, what, indexed, compiled, issues) if sv.get("set_aside") else None,
            set_aside_when=str(sv.get("set_aside") or ""))
        if sv.get("set_aside") and not (values["phrases"] or values["patterns"]):
            issues.append(Issue(value_where(file, node, "sentiment"),
                                f"{what}: 'set_aside' takes out the cue's words; give it 'phrases' or 'patterns'"))
    ex = read_mapping(file, values["examples"],
                      {"match": Field("strings", default=[]), "no_match": Field("strings", default=[])},
                      issues, what=f"{what} examples")
    if not ex.get("match"):
        issues.append(Issue(value_where(file, node, "examples"),
                            f"{what}: examples need at least one sentence under 'match'"))
    if any(i.severity == "error" for i in issues[start:]):
        return None
    return Cue(
        id=cue_id, role=values["role"], about=values["about"], phrases=tuple(indexed),
        patterns=tuple(compiled), unless=unless,
        case_sensitive=case, max_words=values.get("max_words"), min_words=values.get("min_words"),
        min_caps_ratio=values.get("min_caps_ratio"), sentiment=effect,
        match_examples=tuple(ex.get("match", [])), no_match_examples=tuple(ex.get("no_match", [])),
        where=where(file, node),
    )


CUE_FILE_FIELDS = {
    "cues": Field("mapping", required=True),
    "masked_data": Field("strings", help="patterns (case-sensitive) of placeholders for masked personal data"),
    "spellings": Field("mapping", help="chat forms and the words they stand for, e.g. pls: please"),
}


def read_cue_file(file: str, data: Any, issues: list[Issue], into: dict[str, Cue],
                  masked: list[re.Pattern[str]] | None = None, spellings: dict[str, str] | None = None) -> None:
    """Add the cues of one parsed file to `into`, its `masked_data` patterns to `masked` and its
    `spellings` to `spellings`; problems go to `issues`."""
    top = read_mapping(file, data, CUE_FILE_FIELDS, issues, what="cue file")
    if spellings is not None and "spellings" in top:
        read_spellings(file, data["spellings"], spellings, issues)
    if masked is not None and top.get("masked_data"):
        masked.extend(_compile_each(file, data, "masked_data", list(top["masked_data"]), issues,
                                    what="cue file"))
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
    masked: list[re.Pattern[str]] = []
    spellings: dict[str, str] = {}
    for path in paths:
        try:
            data = load_yaml(path)
        except RuleFileError as exc:
            issues.extend(exc.issues)
            continue
        read_cue_file(str(path), data, issues, cues, masked, spellings)
    issues.extend(check_references(cues))
    if any(i.severity == "error" for i in issues):
        raise RuleFileError(issues)
    return CueLibrary(cues, tuple(masked), Spellings(spellings))
