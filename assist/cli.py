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


def cmd_eval(args: argparse.Namespace) -> int:
    from .eval_report import markdown
    from .evaluate import evaluate, ground_truth, load_labelled
    from .sentiment import VaderBase

    try:
        book = _phrasebook(args.phrasebook)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    vader = VaderBase()
    sets = {}
    for name in args.data:
        path = Path(name)
        if not path.exists():
            print(f"assist eval: {name}: no such file or directory", file=sys.stderr)
            return 2
        labelled = load_labelled([path])
        if not labelled:
            print(f"assist eval: {name}: no labelled conversations (a start event with 'expect')", file=sys.stderr)
            return 2
        sets[path.name or name] = evaluate(book, labelled, vader)
    truths = []
    if args.ground_truth:
        for gt in sorted(Path(args.ground_truth).glob("*GroundTruth.txt")):
            truths.append(ground_truth(book, gt, vader))
    text = markdown(sets, truths)
    sys.stdout.write(text)
    if args.html:
        from .eval_html import html_report

        Path(args.html).write_text(html_report(sets, truths), encoding="utf-8")
        print(f"\nHTML report: {args.html}", file=sys.stderr)
    if args.misses:
        for name, rep in sets.items():
            for r in rep.results:
                for m in r.misses:
                    print(f"MISS {name} {r.conversation} {m['prompt']} @{m['event']}", file=sys.stderr)
                for f in r.false_alarms:
                    print(f"FALSE {name} {r.conversation} {f['prompt']} @{f['event']}", file=sys.stderr)
                if r.expected_type != r.predicted_type:
                    print(f"TYPE {name} {r.conversation} want {r.expected_type} got {r.predicted_type}",
                          file=sys.stderr)
    return 0


def _settings(args: argparse.Namespace) -> Any:
    from .config import ensure_secrets, load_settings

    flags = {k: getattr(args, k, None) for k in ("host", "port", "db")}
    if getattr(args, "phrasebook", None):
        flags["phrasebooks"] = tuple(args.phrasebook)
    if getattr(args, "retain_days", None) is not None:
        flags["retain_days"] = args.retain_days
    return ensure_secrets(load_settings(getattr(args, "config", None), **flags))


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from .config import ConfigError
    from .server import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    try:
        settings = _settings(args)
        book = load_phrasebook(*settings.phrasebooks)
    except ConfigError as exc:
        print(f"assist serve: {exc}", file=sys.stderr)
        return 2
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        print("assist serve: the phrasebook has errors; fix them (see `assist check`) and start again",
              file=sys.stderr)
        return 2
    app = create_app(settings, book)
    print(f"Customer Sense on http://{settings.host}:{settings.port}  store {settings.db}  "
          f"phrasebook {book.fingerprint}; ingest sources: {', '.join(settings.sources)}", flush=True)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


def cmd_token(args: argparse.Namespace) -> int:
    import time

    from .tokens import make_token

    settings = _settings(args)
    print(make_token(settings.secret, args.agent, role=args.role, ttl=args.ttl, now=time.time()))
    return 0


def cmd_export(args: argparse.Namespace) -> int:
    import asyncio

    from .store import SQLiteStore

    settings = _settings(args)
    if not Path(settings.db).exists():
        print(f"assist export: no store at {settings.db}", file=sys.stderr)
        return 2

    async def read() -> list[dict[str, Any]]:
        store = SQLiteStore(settings.db)
        await store.open()
        try:
            return await store.events(args.conversation)
        finally:
            await store.close()

    events = asyncio.run(read())
    if not events:
        print(f"assist export: no events for conversation {args.conversation!r} in {settings.db}", file=sys.stderr)
        return 1
    for event in events:
        sys.stdout.write(json.dumps(event, ensure_ascii=False) + "\n")
    return 0


def _server_flags(p: argparse.ArgumentParser) -> None:
    p.add_argument("--config", metavar="FILE", help="TOML settings file (then ASSIST_* variables, then flags)")
    p.add_argument("--db", metavar="PATH", help="SQLite store (default var/assist.sqlite3)")


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

    p = sub.add_parser("eval", help="score prompts, mood and type against labelled conversations")
    p.add_argument("data", nargs="+", metavar="DATA", help="labelled JSONL file(s) or directories")
    p.add_argument("--phrasebook", "-p", action="append", metavar="P")
    p.add_argument("--html", metavar="FILE", help="also write a self-contained HTML report")
    p.add_argument("--ground-truth", metavar="DIR", default=None,
                   help="directory with VADER's *GroundTruth.txt files: report Pearson r against bare VADER")
    p.add_argument("--misses", action="store_true", help="list every miss, false alarm and wrong type on stderr")
    p.set_defaults(func=cmd_eval)

    p = sub.add_parser("serve", help="run the live server (Socket.IO + REST)")
    _server_flags(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--phrasebook", "-p", action="append", metavar="P")
    p.add_argument("--retain-days", type=float, dest="retain_days")
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("token", help="make a signed panel token")
    _server_flags(p)
    p.add_argument("--agent", required=True, help="agent (or supervisor) id")
    p.add_argument("--role", choices=("agent", "supervisor"), default="agent")
    p.add_argument("--ttl", type=float, default=12 * 3600, help="seconds the token is valid (default 12 h)")
    p.set_defaults(func=cmd_token)

    p = sub.add_parser("export", help="print a stored conversation as contract JSONL")
    _server_flags(p)
    p.add_argument("conversation")
    p.set_defaults(func=cmd_export)
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    parser = build_parser()
    args = parser.parse_args(argv)
    try:
        result: Any = args.func(args)
    except BrokenPipeError:  # `assist replay ... | head`: the reader went away, stop quietly
        os.dup2(os.open(os.devnull, os.O_WRONLY), sys.stdout.fileno())
        return 0
    except KeyboardInterrupt:
        return 130
    return int(result)


if __name__ == "__main__":
    raise SystemExit(main())
