"""The `assist` command: replay and check (thin shell over the core)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import Any, TextIO

from .errors import RuleFileError
from .phrasebook import Phrasebook, load_phrasebook


def _phrasebook(paths: Sequence[str] | None) -> Phrasebook:
    return load_phrasebook(*(paths or ()))


def _print_issues(error: RuleFileError, out: TextIO) -> None:
    for issue in error.issues + error.warnings:
        print(str(issue), file=out)


def cmd_replay(args: argparse.Namespace) -> int:
    from rich.console import Console
    from rich.progress import BarColumn, Progress, TaskProgressColumn, TextColumn

    from .engine import Engine
    from .render import Transcript
    from .replay import read_lines, replay

    try:
        engine = Engine(_phrasebook(args.phrasebook))
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    errors = 0
    for name in args.files:
        stream: TextIO
        if name == "-":
            stream = sys.stdin
            size = 0
        else:
            try:
                stream = open(name, encoding="utf-8")  # noqa: SIM115 - closed below
            except OSError as exc:
                print(f"assist replay: cannot open {name}: {exc.strerror}", file=sys.stderr)
                return 2
            size = os.fstat(stream.fileno()).st_size
        try:
            if args.jsonl:
                write = sys.stdout.write
                for _, records in replay(engine, read_lines(stream)):
                    for rec in records:
                        errors += rec["kind"] == "error" and rec.get("severity") == "error"
                        write(json.dumps(rec, ensure_ascii=False) + "\n")
                continue
            console = Console(highlight=False, force_terminal=True if args.color == "always" else
                              False if args.color == "never" else None)
            view = Transcript(console)
            show_progress = size > 1_000_000 and sys.stderr.isatty()
            with Progress(TextColumn("[dim]replay"), BarColumn(), TaskProgressColumn(),
                          console=Console(stderr=True), transient=True, disable=not show_progress) as bar:
                task = bar.add_task("replay", total=size or None)
                for obj, records in replay(engine, read_lines(stream)):
                    errors += sum(1 for r in records if r["kind"] == "error" and r.get("severity") == "error")
                    view.event(obj, records)
                    if show_progress:
                        bar.update(task, completed=stream.tell() if not stream.isatty() else 0)
        finally:
            if stream is not sys.stdin:
                stream.close()
        engine = Engine(engine.phrasebook)
    return 1 if errors and args.strict else 0


def cmd_check(args: argparse.Namespace) -> int:
    from .examples import check_examples

    try:
        book = _phrasebook(args.files)
    except RuleFileError as exc:
        _print_issues(exc, sys.stdout)
        print(f"\n{len(exc.issues)} error(s); the phrasebook was not loaded.")
        return 1
    for warning in book.warnings:
        print(str(warning))
    issues, count = check_examples(book)
    for issue in issues:
        print(str(issue))
    entries = sum(1 for e in book.entries if e.enabled)
    if issues:
        print(f"\n{len(issues)} example(s) failed of {count}; {entries} entries, {len(book.cues.cues)} cues.")
        return 1
    print(f"ok: {entries} entries, {len(book.cues.cues)} cues, {count} examples pass "
          f"({', '.join(book.sources[:1])}{' ...' if len(book.sources) > 1 else ''}; version {book.fingerprint})")
    return 0


def build_parser() -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="assist", description="Customer Sense: prompts for live support chats.")
    sub = parser.add_subparsers(dest="command", required=True)

    p = sub.add_parser("replay", help="replay contract JSONL files through the engine")
    p.add_argument("files", nargs="+", metavar="FILE", help="JSON Lines file(s), or - for standard input")
    p.add_argument("--phrasebook", "-p", action="append", metavar="P",
                   help="phrasebook directory or file; repeat to layer (default: the shipped one)")
    p.add_argument("--jsonl", action="store_true", help="print contract records only, one JSON per line")
    p.add_argument("--color", choices=("auto", "always", "never"), default="auto")
    p.add_argument("--strict", action="store_true", help="exit 1 when any input line was rejected")
    p.set_defaults(func=cmd_replay)

    p = sub.add_parser("check", help="validate phrasebooks and run every example")
    p.add_argument("files", nargs="*", metavar="FILE", help="phrasebook directory or files (default: shipped)")
    p.set_defaults(func=cmd_check)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    result: Any = args.func(args)
    return int(result)


if __name__ == "__main__":
    raise SystemExit(main())
