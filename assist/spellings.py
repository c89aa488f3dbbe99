"""Chat spellings: "u", "pls", "dont" read as "you", "please", "don't" before cues look.

People type fast in a chat: "r u sure", "pls call me back", "i dont care", "nvm". A cue
written for "you" or "don't" should not have to spell every short form again, so a cue
file may list `spellings`: each written form (one word, lower case; or a contraction split
by a space, "doesn 't", as some machine translation writes it) and the words it stands
for. `CueLibrary.detect` runs its phrases and patterns over the text with those forms
written out, and maps every match back to the text as written: a quote is always
the customer's or agent's own words ("u must have"), never our rewriting of them.

Only cue detection sees the rewritten text. VADER, the mood model and the type model read
the turn as it was written (VADER knows "dont" and "cant" itself).
"""

from __future__ import annotations

import re
from dataclasses import dataclass, field
from typing import Any

import re2  # type: ignore[import-untyped]

from .errors import Issue
from .yamlsrc import describe, value_where, where

_FORM = re.compile(r"^[a-z0-9][a-z0-9'/]*(?: '[a-z]+)?$")  # "pls", "w/", "doesn 't"
_WORDS = re.compile(r"^[a-z0-9' /-]+$")


@dataclass(frozen=True)
class SpanMap:
    """Where each character of a rewritten text came from in the text as written."""

    source: str
    starts: tuple[int, ...]
    ends: tuple[int, ...]

    def quote(self, start: int, end: int) -> str:
        """The text as written behind the rewritten span [start, end)."""
        if end <= start:
            return ""
        return self.source[self.starts[start]:self.ends[end - 1]]


@dataclass(frozen=True)
class Spellings:
    """Written form -> the words it stands for, both lower case."""

    forms: dict[str, str] = field(default_factory=dict)
    _pattern: re.Pattern[str] | None = field(init=False, repr=False, compare=False, default=None)
    _gate: Any = field(init=False, repr=False, compare=False, default=None)  # an RE2 pattern

    def __post_init__(self) -> None:
        if self.forms:
            longest_first = sorted(self.forms, key=lambda f: (-len(f), f))
            body = "|".join(re.escape(f) for f in longest_first)
            object.__setattr__(self, "_pattern", re.compile(rf"(?<![\w'/-])(?:{body})(?![\w/-])(?!'(?![a-z]))", re.IGNORECASE))
            # The same forms without look-arounds, for RE2: every ASCII text the pattern above
            # matches in, this matches in too. Most turns have no short form, and RE2 says so in
            # about 2 us where Python's re takes about 19 (bench/README.md).
            options = re2.Options()
            options.case_sensitive = False
            object.__setattr__(self, "_gate", re2.compile(rf"(?:^|[^\w'/-])(?:{body})(?:$|[^\w/-])", options))

    def expand(self, text: str) -> tuple[str, SpanMap | None]:
        """`text` with every listed form written out, and the map back (None: nothing to write out)."""
        if self._pattern is None or text.isascii() and self._gate.search(text) is None:
            return text, None
        pieces: list[str] = []
        starts: list[int] = []
        ends: list[int] = []
        last = 0
        for m in self._pattern.finditer(text):
            written = m.group()
            words = self.forms[written.lower()]
            if written[0].isupper() and not (written.isupper() and len(written) > 1):
                words = words[0].upper() + words[1:]  # "Pls" -> "Please"; "PLS" -> "please": no new capitals
            pieces += [text[last:m.start()], words]
            starts += range(last, m.start())
            ends += range(last + 1, m.start() + 1)
            starts += [m.start()] * len(words)
            ends += [m.end()] * len(words)
            last = m.end()
        if not pieces:
            return text, None
        pieces.append(text[last:])
        starts += range(last, len(text))
        ends += range(last + 1, len(text) + 1)
        return "".join(pieces), SpanMap(text, tuple(starts), tuple(ends))


def read_spellings(file: str, node: Any, into: dict[str, str], issues: list[Issue]) -> None:
    """Add the `spellings` mapping of one cue file to `into`; each bad entry is an issue at its line."""
    if not isinstance(node, dict):
        issues.append(Issue(where(file, node), f"cue file: 'spellings' must be a mapping of a written "
                                               f"form to the words it stands for, got {describe(node)}"))
        return
    for form, words in node.items():
        spot = where(file, node, form)
        if not isinstance(form, str) or not _FORM.match(form):
            issues.append(Issue(spot, f"spellings: {form!r} must be one word in lower case "
                                      f"(letters, digits, ' or /), e.g. 'pls', or a contraction split "
                                      f"by a space, e.g. \"doesn 't\""))
            continue
        if not isinstance(words, str) or not words.strip() or not _WORDS.match(words):
            issues.append(Issue(value_where(file, node, form),
                                f"spellings: {form!r} must stand for words in lower case, e.g. 'please'; "
                                f"got {describe(words)}"))
            continue
        into[form] = words.strip()
