"""The command line the two benches over labelled message files share (agent_replies.py,
customer_signals.py): every shipped file and each group's total, or only the files named."""

from __future__ import annotations

import argparse
import sys
from collections.abc import Callable
from pathlib import Path
from typing import Any

sys.path.insert(0, str(Path(__file__).resolve().parent.parent))

from assist import load_phrasebook  # noqa: E402
from assist.phrasebook import Phrasebook  # noqa: E402

Counts = Any  # each bench's own tally of one file
Row = tuple[str, Counts]


def main(doc: str, argv: list[str] | None, *, read: Callable[[Path], list[dict[str, Any]]],
         tally: Callable[[Phrasebook, list[dict[str, Any]]], Counts],
         by_group: Callable[[Phrasebook], dict[str, tuple[list[Row], Counts]]],
         table: Callable[[list[Row]], str]) -> int:
    parser = argparse.ArgumentParser(description=doc.split("\n\n")[0])
    parser.add_argument("files", nargs="*", type=Path, help="message files to measure (default: every shipped file)")
    parser.add_argument("--phrasebook", default=None, help="phrasebook directory (default: the shipped one)")
    args = parser.parse_args(argv)
    book = load_phrasebook(args.phrasebook) if args.phrasebook else load_phrasebook()
    if args.files:
        print(table([(path.stem, tally(book, read(path))) for path in args.files]))
        return 0
    rows: list[Row] = []
    for group, (files, total) in by_group(book).items():
        rows += [*files, (f"**{group}**", total)]
    print(table(rows))
    return 0
