"""Supervisor tools: how fast an edit goes live, and backtest throughput against replay.

    .venv/bin/python bench/supervisor.py [--edits 10] [--copies 60]

1. Hot reload: a real `assist serve` process watching a copy of the phrasebooks; a
   supervisor Socket.IO client (websocket) waits for the `phrasebook` status after each
   edit of default.yaml (a prompt text changed back and forth). Time = file written ->
   status with the new fingerprint received. Baseline in the same run: loading and
   checking the phrasebook (every example) in this process, which is most of the work.
2. Backtest: the labelled conversations (dev, dev2, dev3, heldout) repeated `--copies`
   times under new ids, as one JSONL file; `assist backtest --old P --new P'` against
   `assist replay --jsonl` of the same file with one phrasebook (both whole commands,
   phrasebook loading included, wall clock; the best of 3).
"""

from __future__ import annotations

import argparse
import json
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import socketio  # noqa: E402

from assist.phrasebook import DEFAULT_DIR  # noqa: E402
from assist.reloader import load_checked  # noqa: E402
from tests.browser.harness import ServerProcess, agent_token  # noqa: E402

OLD = "Skip the excuse."
NEW = "Skip the excuse, please."


def bench_reload(edits: int) -> dict[str, float]:
    with tempfile.TemporaryDirectory() as tmp:
        books = Path(tmp) / "phrasebooks"
        shutil.copytree(DEFAULT_DIR, books)
        loads = []
        for _ in range(3):
            started = time.perf_counter()
            load_checked((books,))
            loads.append(time.perf_counter() - started)
        server = ServerProcess(Path(tmp), extra_env={"ASSIST_PHRASEBOOKS": str(books)}).start()
        times = []
        try:
            with socketio.SimpleClient() as boss:
                boss.connect(server.url, namespace="/supervisor", auth={"token": agent_token("boss", "supervisor")},
                             transports=["websocket"])
                fingerprint = None
                while fingerprint is None:
                    event, data = boss.receive(timeout=10)
                    if event == "phrasebook":
                        fingerprint = data["fingerprint"]
                path = books / "default.yaml"
                for n in range(edits):
                    text = path.read_text()
                    text = text.replace(OLD, NEW, 1) if n % 2 == 0 else text.replace(NEW, OLD, 1)
                    time.sleep(0.5)
                    started = time.perf_counter()
                    path.write_text(text)
                    while True:
                        event, data = boss.receive(timeout=15)
                        if event == "phrasebook" and data["fingerprint"] != fingerprint:
                            fingerprint = data["fingerprint"]
                            times.append(time.perf_counter() - started)
                            break
        finally:
            server.stop()
    return {"load_and_check_s": min(loads), "reload_p50_s": statistics.median(times), "reload_max_s": max(times),
            "edits": edits}


def bench_backtest(copies: int) -> dict[str, float]:
    sources = sorted((ROOT / "tests" / "data" / "conversations").glob("*/*.jsonl"))
    with tempfile.TemporaryDirectory() as tmp:
        data = Path(tmp) / "many.jsonl"
        events = 0
        with data.open("w") as out:
            for copy in range(copies):
                for path in sources:
                    for line in path.read_text().splitlines():
                        if line.strip():
                            event = json.loads(line)
                            event["conversation"] = f"{event['conversation']}-{copy}"
                            out.write(json.dumps(event) + "\n")
                            events += 1
        books = Path(tmp) / "new"
        shutil.copytree(DEFAULT_DIR, books)
        text = (books / "default.yaml").read_text()
        (books / "default.yaml").write_text(text.replace("words >= 8 and", "words >= 11 and", 1))
        assist = str(Path(sys.executable).parent / "assist")

        def best(args: list[str]) -> float:
            runs = []
            for _ in range(3):
                started = time.perf_counter()
                subprocess.run([assist, *args], check=True, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
                runs.append(time.perf_counter() - started)
            return min(runs)

        replay = best(["replay", "--jsonl", str(data)])
        backtest = best(["backtest", "--old", str(DEFAULT_DIR), "--new", str(books), str(data)])
    return {"events": events, "replay_s": replay, "backtest_s": backtest,
            "replay_events_per_s": events / replay, "backtest_events_per_s": events / backtest}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--edits", type=int, default=10)
    parser.add_argument("--copies", type=int, default=60)
    args = parser.parse_args()
    reload = bench_reload(args.edits)
    print(f"hot reload over {reload['edits']} edits: p50 {reload['reload_p50_s']:.2f} s, max "
          f"{reload['reload_max_s']:.2f} s (load + check every example alone: {reload['load_and_check_s']:.2f} s; "
          f"ratio p50 {reload['reload_p50_s'] / reload['load_and_check_s']:.2f}x)")
    bt = bench_backtest(args.copies)
    print(f"backtest of {bt['events']:,} events: {bt['backtest_s']:.2f} s = {bt['backtest_events_per_s']:,.0f} events/s; "
          f"replay of the same file {bt['replay_s']:.2f} s = {bt['replay_events_per_s']:,.0f} events/s "
          f"(backtest / replay throughput {bt['backtest_events_per_s'] / bt['replay_events_per_s']:.2f}x)")


if __name__ == "__main__":
    main()
