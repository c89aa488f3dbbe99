"""Which cue patterns can match a turn, found by RE2 (google-re2) instead of one by one.

A turn meets about six hundred cue patterns. Python's `re` runs them one at a time;
RE2's FilteredRE2 scans the turn once for the literal pieces the patterns need, then
runs only the patterns whose pieces are there. RE2 has no lookaround, backreferences,
atomic groups or possessive quantifiers, and its `\\w`, `\\s` and `\\b` are ASCII, so each
pattern is first *widened*: rewritten as an RE2 pattern that matches every text the
Python pattern matches, and perhaps more. Lookarounds are dropped, and word boundaries
except next to an ASCII letter or digit; `\\W` and `\\S` become any character, `\\w` any
letter, digit or underscore; a backreference becomes its group's pattern; long counted
repeats keep their minimum and become open. The filter can therefore only err on the
safe side: a pattern it does not report cannot match the turn and is not run; a pattern
it reports is run by `re`, which finds the real match and its quote. A pattern that
cannot be widened, or that RE2 will not compile, is run on every turn.
"""

from __future__ import annotations

import re
from collections.abc import Sequence
from re import _constants as c  # type: ignore[attr-defined]
from re import _parser  # type: ignore[attr-defined]
from typing import Any

import re2  # type: ignore[import-untyped]

ANY_CHAR = r"[\x{0}-\x{10FFFF}]"
WORD_CHAR = r"\p{L}\p{N}_"  # Python's \w is letters and numbers (str.isalnum) and "_"
SPACE_CHAR = r"\t-\r\x{1c}-\x{20}\x{85}\x{a0}\p{Z}"  # every character str.isspace() accepts
EXACT_REPEAT_UP_TO = 4  # longer counted repeats keep (at most this much of) their minimum and become open
MAX_MEM = 8 << 20  # per widened pattern (RE2's default); its DFA cache grows only as far as the turns need
GROUP = 256  # at most this many patterns a filter: the atoms of ~350 overflow its scan's DFA cache (PatternSet)
PROBE = "customer-sense-probe"  # a literal each filter must find in itself, or it is not trusted (PatternSet)


class Unwidenable(Exception):
    """A construct the widening does not know; the pattern is run on every turn."""


def widen(pattern: re.Pattern[str]) -> str:
    """An RE2 pattern that matches (at least) every text `pattern` matches.

    Raises Unwidenable for a construct it cannot rewrite safely.
    """
    if pattern.flags & ~(re.UNICODE | re.IGNORECASE | re.MULTILINE | re.DOTALL | re.VERBOSE):
        raise Unwidenable(f"flags {pattern.flags}")
    try:
        tree = _parser.parse(pattern.pattern, pattern.flags)
    except Exception as exc:  # noqa: BLE001 - any parser trouble: no widening
        raise Unwidenable(str(exc)) from exc
    ignorecase = bool(pattern.flags & re.IGNORECASE)
    body = _Widener(bool(pattern.flags & re.MULTILINE), ignorecase).sequence(list(tree))
    return f"(?i){body}" if ignorecase else body


REPEATS = (c.MAX_REPEAT, c.MIN_REPEAT, c.POSSESSIVE_REPEAT)


def _ascii_word(code: int) -> bool:
    ch = chr(code)
    return ch.isascii() and (ch.isalnum() or ch == "_")


def _edge_is_ascii_word(items: list[Any], last: bool) -> bool:
    """Whether every match of `items` begins (or, with `last`, ends) with an ASCII word character."""
    if not items:
        return False
    op, av = items[-1] if last else items[0]
    if op is c.LITERAL:
        return _ascii_word(av)
    if op is c.SUBPATTERN:
        return _edge_is_ascii_word(list(av[3]), last)
    if op is c.BRANCH:
        return all(_edge_is_ascii_word(list(branch), last) for branch in av[1])
    if op in REPEATS:
        return av[0] >= 1 and _edge_is_ascii_word(list(av[2]), last)
    return False


class _Widener:
    """The widening of one pattern: its flags in force, and its groups for backreferences.

    `\\b` is kept (as RE2's ASCII `\\b`) where the character on one side of it is certainly
    an ASCII letter, digit or "_": there Python's boundary means the other side is not a
    word character in Python's sense, so not in RE2's either. Elsewhere, and under
    IGNORECASE (the Kelvin sign matches "k"), it is dropped.
    """

    def __init__(self, multiline: bool, ignorecase: bool) -> None:
        self.multiline = multiline
        self.ignorecase = ignorecase
        self.groups: dict[int, str] = {}

    def sequence(self, items: list[Any]) -> str:
        out = []
        for k, (op, av) in enumerate(items):
            if op is c.AT and av is c.AT_BOUNDARY:
                if not self.ignorecase and (_edge_is_ascii_word(items[:k], last=True)
                                            or _edge_is_ascii_word(items[k + 1:], last=False)):
                    out.append(r"\b")
                continue
            out.append(self.item(op, av))
        return "".join(out)

    def item(self, op: Any, av: Any) -> str:
        if op is c.LITERAL:
            return _char(av)
        if op is c.NOT_LITERAL:
            return f"[^{_char(av)}]"
        if op is c.ANY:
            return ANY_CHAR
        if op is c.IN:
            return _klass(av)
        if op is c.CATEGORY:
            part = _category(av)
            return ANY_CHAR if part is None else f"[{part}]"
        if op is c.AT:
            if av is c.AT_BEGINNING_STRING or (av is c.AT_BEGINNING and not self.multiline):
                return "^"
            return ""  # \\B, $, \\Z and multi-line ^: dropped (matching more)
        if op is c.BRANCH:
            return "(?:" + "|".join(self.sequence(list(b)) for b in av[1]) + ")"
        if op is c.SUBPATTERN:
            group, add, _delete, sub = av
            outer = (self.multiline, self.ignorecase)
            self.multiline = self.multiline or bool(add & re.MULTILINE)
            self.ignorecase = self.ignorecase or bool(add & re.IGNORECASE)
            inner = self.sequence(list(sub))
            self.multiline, self.ignorecase = outer
            widened = f"(?i:{inner})" if add & re.IGNORECASE else f"(?:{inner})"
            if group is not None:
                self.groups[group] = widened
            return widened
        if op is c.ATOMIC_GROUP:
            return f"(?:{self.sequence(list(av))})"
        if op in REPEATS:
            low, high, sub = av
            return _repeat(low, high, self.sequence(list(sub)))
        if op in (c.ASSERT, c.ASSERT_NOT):
            return ""  # lookaround: dropped (matching more)
        if op is c.GROUPREF:
            return self.groups.get(av, f"{ANY_CHAR}*")  # the text a group matched matches the group
        if op is c.GROUPREF_EXISTS:
            _group, yes, no = av
            return f"(?:{self.sequence(list(yes))}|{self.sequence(list(no)) if no else ''})"
        raise Unwidenable(f"operator {op}")


def _char(code: int) -> str:
    ch = chr(code)
    return ch if ch.isascii() and ch.isalnum() else rf"\x{{{code:x}}}"


def _category(av: Any) -> str | None:
    """A class body for a category, or None for 'any character'."""
    if av is c.CATEGORY_DIGIT:
        return r"\p{Nd}"
    if av is c.CATEGORY_NOT_DIGIT:
        return r"\P{Nd}"
    if av is c.CATEGORY_WORD:
        return WORD_CHAR
    if av is c.CATEGORY_SPACE:
        return SPACE_CHAR
    if av in (c.CATEGORY_NOT_WORD, c.CATEGORY_NOT_SPACE):
        return None  # their exact complements are not worth the risk: any character
    raise Unwidenable(f"category {av}")


def _klass(items: Any) -> str:
    negate = bool(items) and items[0][0] is c.NEGATE
    body = []
    for op, av in items[1:] if negate else items:
        if op is c.LITERAL:
            body.append(_char(av))
        elif op is c.RANGE:
            body.append(f"{_char(av[0])}-{_char(av[1])}")
        elif op is c.CATEGORY:
            part = _category(av)
            if part is None:
                return ANY_CHAR  # [^...] of it or [...] with it: any character is a superset
            if negate and av in (c.CATEGORY_WORD, c.CATEGORY_SPACE):
                return ANY_CHAR  # the complement of a widened class would be narrower
            body.append(part)
        else:
            raise Unwidenable(f"class item {op}")
    if not body:
        return ANY_CHAR
    return f"[{'^' if negate else ''}{''.join(body)}]"


def _repeat(low: int, high: int, body: str) -> str:
    """A counted repeat; a long one keeps (at most EXACT_REPEAT_UP_TO of) its minimum, open above."""
    group = f"(?:{body})"
    if high <= EXACT_REPEAT_UP_TO:
        return f"{group}{{{low},{high}}}"
    return f"{group}{{{min(low, EXACT_REPEAT_UP_TO)},}}"


class PatternSet:
    """Patterns for one haystack (lowered or original text), behind RE2's FilteredRE2.

    Each widened pattern is compiled by RE2 on its own; FilteredRE2 takes from each the
    literal strings ("atoms") any match must contain. A turn is scanned once for all atoms
    (one RE2 set of literals, whose automaton stays small), and only the patterns whose
    atoms are there are run, by RE2, on the turn. What `candidates` returns is the
    patterns whose widened form really matches: on the labelled turns, about 2 of 780.

    A pattern without an atom (RE2 keeps none shorter than three characters: "[!]{2,}",
    "^\\W*and\\s*\\?+\\s*$") would pass every filter and be run on its own on every turn.
    Such patterns go into one RE2 set instead, which reports in one pass which of them
    match; with them out, the filters are fewer (21 of the 783 customer patterns: 3 filters
    instead of 4, 28 us a turn instead of 34, bench/README.md).

    The earlier design, the widened patterns themselves in RE2 sets of 32, reported the
    same patterns but took 2-3 times as long, and its automata grew to about 136 MB a
    process (bench/README.md). An RE2 set never gives up on a slow text (it flushes its
    cache and goes on); a filter whose atom set cannot even start is caught at build
    time by a probe, and its patterns are then run on every turn.

    The atom scan's automaton has a fixed memory budget (RE2's default, 8 MB; the
    Python binding does not let it be set). Over about 350 patterns' atoms its DFA
    cache overflows and is flushed again and again: 36 us a turn for one filter of 580
    patterns, 19-24 us for two or three (bench/README.md). Hence filters of at most GROUP.
    """

    def __init__(self, patterns: Sequence[re.Pattern[str]], max_mem: int = MAX_MEM) -> None:
        self.size = len(patterns)
        self.always: list[int] = []  # positions of patterns that are run on every turn
        widened: list[tuple[int, str]] = []
        for i, pattern in enumerate(patterns):
            try:
                widened.append((i, widen(pattern)))
            except Unwidenable:
                self.always.append(i)
        # per filter: the filter, and filter index -> position in `patterns`
        self._filters: list[tuple[Any, dict[int, int]]] = []
        self._split(widened, max_mem)
        # A pattern RE2 takes no atom from (none of three characters or more, as in "[!]{2,}") passes
        # every filter (an empty text lists them), and each was then run by RE2 on every turn. They go
        # into one RE2 set instead, which says in one pass which of them match; the filters are built
        # again without them.
        bare = {index[j] for rfilter, index in self._filters for j in rfilter.Match(b"", True) or ()}
        self._bare: tuple[Any, list[int]] | None = None
        if bare:
            self._bare = self._bare_set([(i, w) for i, w in widened if i in bare], max_mem)
            if self._bare is not None:
                self._filters = []
                self._split([(i, w) for i, w in widened if i not in bare], max_mem)
        self.always.sort()

    def _split(self, widened: list[tuple[int, str]], max_mem: int) -> None:
        """Filters of at most GROUP patterns over `widened`, in order."""
        parts = -(-len(widened) // GROUP)
        for k in range(parts):
            self._build(widened[k * len(widened) // parts:(k + 1) * len(widened) // parts], max_mem)

    @staticmethod
    def _bare_set(widened: list[tuple[int, str]], max_mem: int) -> tuple[Any, list[int]] | None:
        """One RE2 set of `widened`, after a pattern that matches every text (its index 0): when
        a match does not report it, RE2 gave up on the text and every pattern must be run."""
        options = re2.Options()
        options.max_mem = max_mem
        options.log_errors = False
        rset = re2.Set.SearchSet(options)
        try:
            rset.Add("")
            for _, source in widened:
                rset.Add(source)
            rset.Compile()
            works = rset.Match(PROBE.encode()) is not None
        except (re2.error, RuntimeError):
            works = False
        return (rset, [i for i, _ in widened]) if works else None

    def _build(self, widened: list[tuple[int, str]], max_mem: int) -> None:
        """One filter over `widened`; split in halves while RE2 cannot compile its atoms."""
        if not widened:
            return
        options = re2.Options()
        options.max_mem = max_mem
        options.log_errors = False
        rfilter = re2.Filter()
        index: dict[int, int] = {}
        added: list[tuple[int, str]] = []
        for i, source in widened:
            try:
                index[rfilter.Add(source, options)] = i
                added.append((i, source))
            except re2.error:  # RE2 refuses the widening (or it is over budget): run it every time
                self.always.append(i)
        if not added:
            return
        probe = rfilter.Add(PROBE, options)
        try:
            rfilter.Compile()
            works = probe in (rfilter.Match(PROBE.encode(), False) or ())
        except (re2.error, RuntimeError):
            works = False
        if works:
            self._filters.append((rfilter, index))
        elif len(added) > 1:  # halves of what RE2 took (what it refused is in `always` already)
            half = len(added) // 2
            self._build(added[:half], max_mem)
            self._build(added[half:], max_mem)
        else:
            self.always.extend(index.values())

    def candidates(self, text: str) -> list[int]:
        """Positions of the patterns that may match `text`, in order."""
        if not self._filters and self._bare is None:  # nothing filtered (an agent turn's case-sensitive
            return list(self.always)                    # haystack): no pass to make
        try:
            data = text.encode("utf-8")
        except UnicodeEncodeError:  # a lone surrogate: no widening holds, run everything
            return list(range(self.size))
        found = list(self.always)
        if self._bare is not None:
            rset, positions = self._bare
            hits = rset.Match(data) or ()
            if 0 in hits:
                found.extend(positions[j - 1] for j in hits if j)
            else:  # RE2 gave up on this text (its DFA ran out of room): run them all
                found.extend(positions)
        for rfilter, index in self._filters:
            found.extend(index[j] for j in rfilter.Match(data, False) or () if j in index)
        found.sort()
        return found
