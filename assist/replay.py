"""Replay: contract JSON Lines in, the records the live server would push out.

Lines are decoded here (a line that is not JSON becomes an `error` record naming
it) and fed to one `Engine` in file order; the engine runs each conversation on its
own virtual clock. After the last line, timers still due within the phrasebook's
`end_horizon` of each open conversation fire (the contract's 10 minutes).
"""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from typing import Any, TextIO

from .engine import Engine, Record, error_record


def read_lines(stream: TextIO) -> Iterator[tuple[int, str]]:
    for number, line in enumerate(stream, 1):
        if line.strip():
            yield number, line


def decode(number: int, line: str) -> dict[str, Any] | Record:
    """The event object of one line, or an error record saying why not."""
    try:
        value = json.loads(line)
    except json.JSONDecodeError as exc:
        return error_record(f"line {number}: not valid JSON ({exc.msg} at column {exc.colno})", line=number)
    if not isinstance(value, dict):
        return error_record(f"line {number}: an event must be a JSON object, got {type(value).__name__}",
                            line=number)
    return value


def replay(engine: Engine, lines: Iterable[tuple[int, str]], *, finish: bool = True) -> Iterator[tuple[
        dict[str, Any] | None, list[Record]]]:
    """Yield (event object or None, records it produced) line by line, then the end-of-input timers."""
    for number, line in lines:
        obj = decode(number, line)
        if obj.get("kind") == "error" and "type" not in obj:
            yield None, [obj]
            continue
        yield obj, engine.feed(obj, line=number)
    if finish:
        yield None, engine.finish()


def replay_records(engine: Engine, lines: Iterable[tuple[int, str]]) -> list[Record]:
    return [r for _, records in replay(engine, lines) for r in records]
