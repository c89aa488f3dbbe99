"""The `assist` command: replay and check (thin shell over the core)."""

from __future__ import annotations

import argparse
import json
import os
import sys
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING, Any, TextIO

from .errors import LabelError, RuleFileError
from .phrasebook import Phrasebook, load_phrasebook

if TYPE_CHECKING:
    from .backtest import Side


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
    from .evaluate import evaluate, ground_truth
    from .sentiment import VaderBase

    try:
        book = _phrasebook(args.phrasebook)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    vader = VaderBase()
    loaded = _labelled_sets("eval", args.data)
    if loaded is None:
        return 2
    sets = {}
    for name, labelled in loaded:
        if not labelled:
            print(f"assist eval: {name}: no labelled conversations (a start event with 'expect')", file=sys.stderr)
            return 2
        sets[Path(name).name or name] = evaluate(book, labelled, vader)
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
                    back = f" (held back: {m['held_back']})" if m.get("held_back") else ""
                    print(f"MISS {name} {r.conversation} {m['prompt']} @{m.get('event', 'any')}{back}",
                          file=sys.stderr)
                for f in r.false_alarms:
                    print(f"FALSE {name} {r.conversation} {f['prompt']} @{f['event']}", file=sys.stderr)
                for c in r.mood_calls:
                    if not c.right:
                        print(f"MOOD {name} {r.conversation} @{c.event} {c.label} read {c.ours}: {c.cause}",
                              file=sys.stderr)
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


def _server_setup(args: argparse.Namespace, command: str) -> tuple[Any, Phrasebook] | None:
    """Settings and phrasebook for `assist serve` / `assist demo`, or None after saying what is wrong."""
    from .config import ConfigError

    try:
        settings = _settings(args)
        return settings, load_phrasebook(*settings.phrasebooks)
    except ConfigError as exc:
        print(f"assist {command}: {exc}", file=sys.stderr)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        print(f"assist {command}: the phrasebook has errors; fix them (see `assist check`) and start again",
              file=sys.stderr)
    return None


def _labelled_sets(command: str, names: list[str]) -> list[tuple[str, list[Any]]] | None:
    """Each named labelled set, loaded; None after saying on stderr what is wrong (a missing
    path, or a label that cannot be scored, with its file and line)."""
    from .evaluate import load_labelled

    out = []
    for name in names:
        if not Path(name).exists():
            print(f"assist {command}: {name}: no such file or directory", file=sys.stderr)
            return None
        try:
            out.append((name, load_labelled([Path(name)])))
        except LabelError as exc:
            print(f"assist {command}: {exc}", file=sys.stderr)
            return None
    return out


def _training_data(command: str, book: Phrasebook, names: list[str], rows_of: Any) -> list[Any] | None:
    """The training rows of labelled sets, or None after saying on stderr what is wrong."""
    loaded = _labelled_sets(command, names)
    return None if loaded is None else [row for _, labelled in loaded for row in rows_of(book, labelled)]


def _train(args: argparse.Namespace, command: str, rows_of: Any, fit: Any, accuracy: Any, to_yaml: Any,
           what: str) -> int:
    """Shared shell of `assist train-mood` and `assist train-types`: read, fit, write, report."""
    try:
        book = _phrasebook(args.phrasebook)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    train = _training_data(command, book, args.data, rows_of)
    measure = _training_data(command, book, args.measure or [], rows_of)
    if train is None or measure is None:
        return 2
    if not train:
        print(f"assist {command}: no labelled {what} in {', '.join(args.data)}", file=sys.stderr)
        return 2
    groups = sorted({r.group for r in train})
    if len(groups) < args.min_sets:
        print(f"assist {command}: {len(groups)} labelled sets given; words must be used in --min-sets "
              f"{args.min_sets} of them, so no word will be learned. Give more sets or a lower --min-sets",
              file=sys.stderr)
    model = fit(train, min_sets=args.min_sets, l2=args.l2)
    trained_on = {"sets": groups, "rows": len(train), "min_sets": args.min_sets, "l2": args.l2}
    Path(args.out).write_text(to_yaml(model, trained_on), encoding="utf-8")
    print(f"trained on {len(train)} labelled {what} from {len(groups)} sets; "
          f"{len(model.weights)} weighted features written to {args.out}")
    print(f"| {what} | count | rules alone | with the model |")
    print("|---|---|---|---|")
    print(f"| trained on | {len(train)} | {accuracy(None, train):.1%} | {accuracy(model, train):.1%} |")
    if measure:
        print(f"| measured only | {len(measure)} | {accuracy(None, measure):.1%} | {accuracy(model, measure):.1%} |")
    return 0


def cmd_train_mood(args: argparse.Namespace) -> int:
    from .moodtrain import accuracy, fit, to_yaml, training_rows

    return _train(args, "train-mood", training_rows, fit, accuracy, to_yaml, "customer turns")


def cmd_train_types(args: argparse.Namespace) -> int:
    from .typetrain import accuracy, fit, to_yaml, training_rows

    return _train(args, "train-types", training_rows, fit, accuracy, to_yaml, "conversations")


def cmd_serve(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from .server import create_app

    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    loaded = _server_setup(args, "serve")
    if loaded is None:
        return 2
    settings, book = loaded
    workers = getattr(args, "workers", None) or 1
    if workers > 1 and not (settings.redis and settings.store):
        print("assist serve: --workers needs a shared store and Redis: set ASSIST_STORE=postgresql://... "
              "and ASSIST_REDIS=redis://... (see docs/operations.md)", file=sys.stderr)
        return 2
    children = _spawn_workers(workers - 1)
    app = create_app(settings, book)
    where = settings.store.split("@")[-1] if settings.store else settings.db
    print(f"Customer Sense on http://{settings.host}:{settings.port}  store {where}  "
          f"phrasebook {book.fingerprint}; ingest sources: {', '.join(settings.sources)}"
          f"{f'; {workers} processes' if workers > 1 else ''}", flush=True)
    reuse = workers > 1 or getattr(args, "reuse_port", False)
    app.on_startup.append(_settle_heap)
    try:
        web.run_app(app, host=settings.host, port=settings.port, print=None, reuse_port=reuse or None)
    finally:
        for child in children:
            child.terminate()
        for child in children:
            child.wait(10)
    return 0


def _spawn_workers(count: int) -> list[Any]:
    """`count` more `assist serve` processes on the same port (SO_REUSEPORT: the kernel
    spreads connections); panels use WebSocket only, so no sticky sessions are needed."""
    import subprocess

    argv = [a for a in sys.argv[1:] if not a.startswith("--workers")]
    if "--workers" in sys.argv:
        i = sys.argv.index("--workers")
        argv = sys.argv[1:i] + sys.argv[i + 2:]
    return [subprocess.Popen([sys.executable, "-m", "assist", *argv, "--workers", "1", "--reuse-port"])
            for _ in range(count)]


def cmd_demo(args: argparse.Namespace) -> int:
    import logging

    from aiohttp import web

    from .pages import BUILD_HINT, widget_dir
    from .server import create_app

    logging.basicConfig(level=logging.WARNING, format="%(asctime)s %(levelname)s %(name)s: %(message)s")
    scripts = Path(args.scripts)
    if not scripts.is_dir() or not any(scripts.rglob("*.jsonl")):
        print(f"assist demo: no conversations (*.jsonl) under {scripts}; pass --scripts DIR", file=sys.stderr)
        return 2
    loaded = _server_setup(args, "demo")
    if loaded is None:
        return 2
    settings, book = loaded
    if not (widget_dir(settings) / "demo.js").exists():
        print(f"assist demo: {BUILD_HINT}", file=sys.stderr)
        return 2
    if not args.keep:  # the demo's store is scratch: each run starts with no chats
        for suffix in ("", "-wal", "-shm"):
            Path(settings.db + suffix).unlink(missing_ok=True)
    app = create_app(settings, book, demo_scripts=scripts)
    print(f"Customer Sense demo: open http://{settings.host}:{settings.port}/demo  "
          f"(store {settings.db}; Ctrl-C stops it)", flush=True)
    app.on_startup.append(_settle_heap)
    web.run_app(app, host=settings.host, port=settings.port, print=None)
    return 0


async def _settle_heap(app: Any) -> None:
    """Once the server is up: freeze what lives for the whole process, out of the collector's way."""
    from .heap import settle

    settle()


def _read_conversations(files: Sequence[str]) -> dict[str, list[dict[str, Any]]]:
    from .backtest import group_by_conversation
    from .replay import decode, read_lines

    events: list[dict[str, Any]] = []
    for name in files:
        with open(name, encoding="utf-8") as stream:
            for number, line in read_lines(stream):
                obj = decode(number, line)
                if obj.get("kind") != "error" or "type" in obj:
                    events.append(obj)
    return group_by_conversation(events)


def _side_with(paths: Sequence[str], conversations: dict[str, list[dict[str, Any]]]) -> Side:
    """One side of a backtest: the prompts and mood calls of one phrasebook (a process of its own for large inputs)."""
    from .backtest import replay_side

    return replay_side(_phrasebook(paths), conversations)


def cmd_backtest(args: argparse.Namespace) -> int:
    import time
    from concurrent.futures import ProcessPoolExecutor

    from .backtest import compare
    from .backtest_report import html, markdown

    try:
        for side in (args.old, args.new):
            _phrasebook(side)
        conversations = _read_conversations(args.files)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    except OSError as exc:
        print(f"assist backtest: cannot read {exc.filename}: {exc.strerror}", file=sys.stderr)
        return 2
    started = time.perf_counter()
    events = sum(len(e) for e in conversations.values())
    if events >= 20_000:  # both sides at once, one core each
        with ProcessPoolExecutor(2) as pool:
            old_future = pool.submit(_side_with, args.old, conversations)
            new_future = pool.submit(_side_with, args.new, conversations)
            old, new = old_future.result(), new_future.result()
    else:
        old, new = _side_with(args.old, conversations), _side_with(args.new, conversations)
    result = compare(conversations, old, new)
    seconds = time.perf_counter() - started
    old_name, new_name = " + ".join(args.old), " + ".join(args.new)
    if args.json:
        print(json.dumps({**result.to_json(), "seconds": round(seconds, 3)}, ensure_ascii=False))
    else:
        sys.stdout.write(markdown(result, old_name, new_name))
        print(f"\n({events} events in {seconds:.2f} s, {events / max(seconds, 1e-9):,.0f} events/s per side)",
              file=sys.stderr)
    if args.html:
        Path(args.html).write_text(html(result, old_name, new_name), encoding="utf-8")
    return 0


async def read_store_for_report(db: str, since: float) -> tuple[dict[str, list[dict[str, Any]]],
                                                                 list[dict[str, Any]], list[tuple[str, str]]]:
    """Conversations touched since `since`, their stored prompts and the agents' verdicts."""
    from .store import SQLiteStore

    store = SQLiteStore(db)
    await store.open()
    try:
        ids = await store.conversation_ids(since, 1_000_000)
        conversations = {cid: await store.events(cid) for cid in reversed(ids)}
        prompts = [p for p in await store.prompts_since(0) if p["conversation"] in conversations]
        feedback = [(row[0], row[2]) for row in await store.feedback()]
    finally:
        await store.close()
    return conversations, prompts, feedback


def cmd_report(args: argparse.Namespace) -> int:
    import asyncio
    import time

    from .effectiveness import effectiveness
    from .effectiveness_report import html, markdown

    settings = _settings(args)
    if not Path(settings.db).exists():
        print(f"assist report: no store at {settings.db}", file=sys.stderr)
        return 2
    try:
        book = _phrasebook(args.phrasebook)
    except RuleFileError as exc:
        _print_issues(exc, sys.stderr)
        return 2
    since = time.time() - args.since * 86400 if args.since else 0.0
    conversations, prompts, feedback = asyncio.run(read_store_for_report(settings.db, since))
    rows = effectiveness(book, conversations, prompts, feedback)
    sys.stdout.write(markdown(rows, conversations=len(conversations)))
    if args.html:
        Path(args.html).write_text(html(rows, conversations=len(conversations)), encoding="utf-8")
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
    p.add_argument("--misses", action="store_true",
                   help="list every miss, false alarm, wrong mood call and wrong type on stderr")
    p.set_defaults(func=cmd_eval)

    for name, func, out, l2, helps in (
            ("train-mood", cmd_train_mood, "mood-model.yaml", 1e-3, "the mood model's weights (upset or not)"),
            ("train-types", cmd_train_types, "type-model.yaml", 1e-3, "the type model's weights (complainer type)")):
        p = sub.add_parser(name, help=f"learn {helps} from labelled development sets")
        p.add_argument("data", nargs="+", metavar="DATA", help="labelled sets (directories, one author each)")
        p.add_argument("--out", required=True, metavar="FILE", help=f"weights file to write (phrasebooks/{out})")
        p.add_argument("--phrasebook", "-p", action="append", metavar="P", help="cues and rules to read the chats with")
        p.add_argument("--measure", action="append", metavar="DATA", help="held-out set to measure, never learned from")
        p.add_argument("--min-sets", type=int, default=6, help="a word counts only when this many sets use it (6)")
        p.add_argument("--l2", type=float, default=l2, help=f"penalty on the squared weights ({l2:g})")
        p.set_defaults(func=func)

    p = sub.add_parser("serve", help="run the live server (Socket.IO + REST)")
    _server_flags(p)
    p.add_argument("--host")
    p.add_argument("--port", type=int)
    p.add_argument("--phrasebook", "-p", action="append", metavar="P")
    p.add_argument("--retain-days", type=float, dest="retain_days")
    p.add_argument("--workers", type=int, default=1, help="processes on this port (needs PostgreSQL and Redis)")
    p.add_argument("--reuse-port", action="store_true", dest="reuse_port", help=argparse.SUPPRESS)
    p.set_defaults(func=cmd_serve)

    p = sub.add_parser("backtest", help="replay recorded conversations through two phrasebooks; show the difference")
    p.add_argument("--old", action="append", required=True, metavar="P", help="the live phrasebook (repeat to layer)")
    p.add_argument("--new", action="append", required=True, metavar="P", help="the edited phrasebook")
    p.add_argument("files", nargs="+", metavar="FILE", help="contract JSONL (e.g. from `assist export`)")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report")
    p.add_argument("--json", action="store_true", help="the result as one JSON object instead of Markdown")
    p.set_defaults(func=cmd_backtest)

    p = sub.add_parser("report", help="which prompts help: verdicts and the customer's mood after each prompt")
    _server_flags(p)
    p.add_argument("--since", type=float, metavar="DAYS", help="only conversations of the last DAYS days")
    p.add_argument("--phrasebook", "-p", action="append", metavar="P")
    p.add_argument("--html", metavar="FILE", help="also write an HTML report with charts")
    p.set_defaults(func=cmd_report)

    p = sub.add_parser("demo", help="run the server with the /demo console (scripted chats, the live panel)")
    p.add_argument("--config", metavar="FILE", help="TOML settings file")
    p.add_argument("--db", metavar="PATH", default="var/demo.sqlite3", help="SQLite store (default var/demo.sqlite3)")
    p.add_argument("--host", default="127.0.0.1")
    p.add_argument("--port", type=int, default=8080)
    p.add_argument("--phrasebook", "-p", action="append", metavar="P")
    p.add_argument("--keep", action="store_true", help="keep the chats of the last demo run (default: start empty)")
    p.add_argument("--scripts", default=str(Path(__file__).resolve().parent.parent / "tests/data/conversations/dev"),
                   help="folder of conversations to play (default: the labelled development set)")
    p.set_defaults(func=cmd_demo)

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
