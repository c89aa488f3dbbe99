"""Throughput and latency with 1 and with 2 server processes (PostgreSQL + Redis).

    .venv/bin/python bench/load.py [--seconds 15] [--connections 8] [--batch 10]

Method: `assist serve --workers N` on one port (SO_REUSEPORT spreads the connections),
store in a fresh PostgreSQL schema, Redis on 127.0.0.1:6379 (a database of its own).
This process is the load generator: `--connections` Socket.IO ingest clients, each in
a closed loop (send a batch of `--batch` customer/agent messages to its own
conversations, wait for the ack, send the next), for `--seconds`. Every ack comes after
the owner's commit. One agent panel per agent (`--panels`, default one per client)
watches over WebSocket from this process too, landing on whichever worker the kernel
picks, as real panels do, so agent-room emits are local or cross Redis. Reported: acknowledged messages/s, ack latency p50/p99 per batch,
the server processes' CPU seconds per 1,000 messages (from /proc), the generator's own
CPU per 1,000 messages, and how busy the machine's cores were (from /proc/stat). The same
offered load (same clients, same messages) runs against 1 and then 2 processes.
The machine has 2 cores, shared with the generator, so 2 processes compete with it.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
import uuid
from pathlib import Path

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import asyncpg  # noqa: E402
import socketio  # noqa: E402

from assist.tokens import make_token  # noqa: E402
from tests.server_helpers import SOURCE, SOURCE_SECRET, free_port  # noqa: E402

DSN = "postgresql://postgres@127.0.0.1:5432/test"
LINES = [("customer", "Where is my parcel? It has been two weeks!!"), ("agent", "Let me check that for you."),
         ("customer", "This is the third time I write, nobody answers"), ("agent", "I'm sorry, I see the delay.")]


def cpu_seconds(pids: list[int]) -> float:
    total = 0.0
    tick = os.sysconf("SC_CLK_TCK")
    for pid in pids:
        try:
            fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
            total += (int(fields[11]) + int(fields[12])) / tick
        except (OSError, IndexError):
            pass
    return total


def machine_jiffies() -> tuple[int, int]:
    """(busy, total) jiffies of all cores, from /proc/stat."""
    fields = [int(x) for x in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    idle = fields[3] + fields[4]  # idle + iowait
    return sum(fields) - idle, sum(fields)


def children_of(pid: int) -> list[int]:
    out = subprocess.run(["pgrep", "-P", str(pid)], capture_output=True, text=True).stdout.split()
    return [pid, *(int(p) for p in out)]


async def open_panels(url: str, agents: int, secret: str) -> tuple[list[socketio.AsyncClient], list[int]]:
    """One agent panel per agent (a0, a1, ...), on whichever process the kernel gives it,
    counting the `turn` records it receives."""
    received = [0]
    panels = []
    for n in range(agents):
        sio = socketio.AsyncClient()

        def on_turn(data: object) -> None:
            received[0] += 1

        sio.on("turn", on_turn, namespace="/agent")
        await sio.connect(url, namespaces=["/agent"], transports=["websocket"],
                          auth={"token": make_token(secret, f"a{n}", role="agent", ttl=3600, now=time.time())})
        panels.append(sio)
    return panels, received


async def drive(url: str, seconds: float, connections: int, batch: int, panels: int,
                secret: str) -> tuple[int, list[float], int]:
    latencies: list[float] = []
    done = 0
    stop = time.monotonic() + seconds
    watching, received = await open_panels(url, panels, secret)

    async def client(n: int) -> None:
        nonlocal done
        sio = socketio.AsyncClient()
        await sio.connect(url, namespaces=["/ingest"], auth={"source": SOURCE, "secret": SOURCE_SECRET},
                          transports=["websocket"])
        cids = [f"load-{n}-{k}" for k in range(20)]
        await sio.call("event", [{"conversation": c, "type": "start", "agent": {"id": f"a{n}"}} for c in cids],
                       namespace="/ingest", timeout=30)
        i = 0
        while time.monotonic() < stop:
            events = []
            for _ in range(batch):
                role, text = LINES[i % len(LINES)]
                events.append({"conversation": cids[i % len(cids)], "type": "message", "role": role, "text": text})
                i += 1
            started = time.perf_counter()
            results = await sio.call("event", events, namespace="/ingest", timeout=30)
            latencies.append((time.perf_counter() - started) * 1000)
            done += sum(1 for r in results if r.get("ok"))
        await sio.disconnect()

    await asyncio.gather(*(client(n) for n in range(connections)))
    await asyncio.sleep(0.5)  # the last turns reach the panels
    for sio in watching:
        await sio.disconnect()
    return done, latencies, received[0]


def run(workers: int, args: argparse.Namespace) -> dict[str, float]:
    schema = f"bench_load_{uuid.uuid4().hex[:8]}"
    port = free_port()
    secret = "s" * 40
    env = {**os.environ, "ASSIST_STORE": DSN, "ASSIST_STORE_SCHEMA": schema, "ASSIST_REDIS": "redis://127.0.0.1:6379/7",
           "ASSIST_PORT": str(port), "ASSIST_SECRET": secret, "ASSIST_SOURCES": f"{SOURCE}:{SOURCE_SECRET}",
           "ASSIST_WATCH_PHRASEBOOKS": "false",
           "ASSIST_EVENTS_PER_SECOND": "1000000", "ASSIST_BURST": "1000000"}
    with tempfile.TemporaryDirectory() as tmp:
        env["ASSIST_DB"] = str(Path(tmp) / "unused.sqlite3")
        proc = subprocess.Popen([sys.executable, "-m", "assist", "serve", "--workers", str(workers)], env=env,
                                cwd=tmp, stdout=subprocess.DEVNULL, stderr=subprocess.DEVNULL)
        try:
            url = f"http://127.0.0.1:{port}"
            deadline = time.monotonic() + 60
            import urllib.request
            answering: set[int] = set()
            while len(answering) < workers:  # every worker listens before the load starts
                try:
                    with urllib.request.urlopen(f"{url}/healthz", timeout=1) as reply:
                        answering.add(json.load(reply)["process"])
                except OSError:
                    if time.monotonic() > deadline:
                        raise
                time.sleep(0.1)
            pids = children_of(proc.pid)
            cpu_before = cpu_seconds(pids)
            split_before = [cpu_seconds([pid]) for pid in pids]
            busy_before, total_before = machine_jiffies()
            generator_before = time.process_time()
            started = time.perf_counter()
            done, latencies, seen = asyncio.run(drive(url, args.seconds, args.connections, args.batch,
                                                      args.panels, secret))
            elapsed = time.perf_counter() - started
            cpu = cpu_seconds(pids) - cpu_before
            split = [cpu_seconds([pid]) for pid in pids]
            generator = time.process_time() - generator_before
            busy_after, total_after = machine_jiffies()
        finally:
            proc.terminate()
            proc.wait(20)

    async def drop() -> None:
        conn = await asyncpg.connect(DSN)
        await conn.execute(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE')
        await conn.close()

    asyncio.run(drop())
    latencies.sort()
    return {"workers": workers, "messages": done, "per_second": done / elapsed, "panel_turns": seen,
            "p50_ms": statistics.median(latencies), "p99_ms": latencies[int(0.99 * (len(latencies) - 1))],
            "cpu_s_per_1000": 1000 * cpu / max(done, 1),
            "generator_cpu_s_per_1000": 1000 * generator / max(done, 1),
            "cpu_share": [round((a - b) / max(cpu, 1e-9), 2) for a, b in zip(split, split_before, strict=True)],
            "machine_busy": (busy_after - busy_before) / max(total_after - total_before, 1)}


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--seconds", type=float, default=15)
    parser.add_argument("--connections", type=int, default=8)
    parser.add_argument("--batch", type=int, default=10)
    parser.add_argument("--panels", type=int, default=None,
                        help="agent panels watching (default: one per ingest client's agent; 0 for none)")
    parser.add_argument("--json", action="store_true")
    args = parser.parse_args()
    if args.panels is None:
        args.panels = args.connections
    results = [run(1, args), run(2, args)]
    if args.json:
        print(json.dumps(results, indent=2))
        return
    print(f"{args.connections} closed-loop ingest clients, batches of {args.batch}, {args.seconds:g} s each; "
          f"{args.panels} agent panels watching")
    print(f"{'processes':>10}{'msgs/s':>10}{'p50 ms':>9}{'p99 ms':>9}{'CPU s/1k msgs':>15}"
          f"{'generator s/1k':>16}{'machine busy':>14}")
    for r in results:
        print(f"{r['workers']:>10}{r['per_second']:>10.0f}{r['p50_ms']:>9.1f}{r['p99_ms']:>9.1f}"
              f"{r['cpu_s_per_1000']:>15.2f}{r['generator_cpu_s_per_1000']:>16.2f}{r['machine_busy']:>14.0%}"
              f"  CPU split {r['cpu_share']}  turns at the panels {r['panel_turns']}")
    one, two = results
    print(f"2 / 1 processes: throughput {two['per_second'] / one['per_second']:.2f}x, "
          f"CPU per message {two['cpu_s_per_1000'] / one['cpu_s_per_1000']:.2f}x")


if __name__ == "__main__":
    main()
