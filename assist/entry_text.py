"""One phrasebook entry as text, for the supervisor's editor.

The editor shows an entry as the YAML lines it has in its file, and a save splices
the edited lines back in place of the old ones. Everything else in the file (other
entries, comments, blank lines, the order) stays byte for byte. ruamel.yaml's round
trip loader finds where each entry starts; a full round-trip dump would re-indent
the nested example lists, which would put noise in every audit diff.
"""

from __future__ import annotations

import re
from dataclasses import dataclass
from typing import Any

from ruamel.yaml import YAML
from ruamel.yaml.error import YAMLError


class EntryTextError(ValueError):
    pass


_ENTRIES_KEY = re.compile(r"^entries\s*:", re.MULTILINE)


@dataclass(frozen=True)
class Span:
    start: int   # 0-based line of the entry's "- "
    end: int     # 0-based line after its last line
    indent: int  # column of the entry's keys


def _entries(text: str) -> Any:
    if not _ENTRIES_KEY.search(text):  # cue lists and model weights: thousands of lines, no entries
        raise EntryTextError("the file has no 'entries:' list")
    try:
        data = YAML(typ="rt").load(text)
    except YAMLError as exc:
        raise EntryTextError(f"the file is not valid YAML: {exc}") from None
    entries = data.get("entries") if hasattr(data, "get") else None
    if entries is None or not hasattr(entries, "lc"):
        raise EntryTextError("the file has no 'entries:' list")
    return entries


def _is_filler(line: str) -> bool:
    stripped = line.strip()
    return not stripped or stripped.startswith("#")


def spans(text: str) -> dict[str, Span]:
    """Where each entry (by id) sits in the file."""
    entries = _entries(text)
    lines = text.splitlines()
    starts = []
    for i, item in enumerate(entries):
        line, col = entries.lc.item(i)
        starts.append((str(item.get("id")) if hasattr(item, "get") else f"#{i}", line, col))
    out = {}
    for n, (entry_id, line, col) in enumerate(starts):
        if n + 1 < len(starts):
            end = starts[n + 1][1]
        else:
            end = next((k for k in range(line + 1, len(lines))
                        if lines[k][:1] not in ("", " ", "#") and not _is_filler(lines[k])), len(lines))
        while end > line + 1 and _is_filler(lines[end - 1]):
            end -= 1
        out[entry_id] = Span(line, end, col)
    return out


def entry_text(text: str, entry_id: str) -> tuple[str, int]:
    """The entry's lines, dedented (no leading "- "), and its 1-based first line."""
    span = spans(text).get(entry_id)
    if span is None:
        raise EntryTextError(f"no entry {entry_id!r} in this file")
    lines = text.splitlines()[span.start:span.end]
    first = lines[0]
    lines[0] = " " * span.indent + first[span.indent:]
    return "\n".join(line[span.indent:] if len(line) >= span.indent else line.lstrip() for line in lines) + "\n", \
        span.start + 1


def replace_entry(text: str, entry_id: str | None, snippet: str) -> str:
    """`text` with the entry `entry_id` replaced by `snippet` (or appended when None or new)."""
    found = spans(text)
    body = [line.rstrip() for line in snippet.strip("\n").splitlines()]
    if not body or not body[0].strip():
        raise EntryTextError("the entry is empty")
    if body[0].startswith((" ", "-")):
        raise EntryTextError("write the entry's keys from the first column (id: ..., on: ..., text: ...)")
    span = found.get(entry_id) if entry_id else None
    indent = span.indent if span else (next(iter(found.values())).indent if found else 4)
    new = [" " * (indent - 2) + "- " + body[0]] + [(" " * indent + line) if line else "" for line in body[1:]]
    lines = text.splitlines()
    if span is None:  # a new entry goes after the last one
        end = max((s.end for s in found.values()), default=len(lines))
        lines[end:end] = ["", *new]
    else:
        lines[span.start:span.end] = new
    return "\n".join(lines) + "\n"
