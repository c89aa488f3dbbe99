"""Live-path latency, throughput and memory of the Customer Sense server on loopback.

    .venv/bin/python bench/latency.py [--json] [--duration 6] [--ramp-duration 5]
                                      [--ramp 2000,3000,4000,5000,6000,8000,10000]
                                      [--mem-conversations 10000] [--budget 170]

Method
------
Every server runs in a child process of this script (`--serve relay|app`, started
with the same interpreter), so the measuring clients never share an event loop (or,
on a 2-core machine, a core) with the server. This process is the load generator:
one Socket.IO client on `/ingest` and one panel client on `/agent`, both websocket
only, both in this process so one clock (`time.perf_counter`) stamps the emit and
the arrival.

1. Baseline: a bare python-socketio relay (AsyncServer on aiohttp, the same two
   namespaces). `/ingest` "event" takes a list, emits every item as one "turn"
   packet to the room the panel sits in and acks `[{"ok": true}, ...]`. It does the
   same hop as the real server (ingest client -> server -> panel client) and nothing
   else; its echoes are matched by the event `id`.
2. Customer Sense: `assist.server.create_app` with a fresh SQLite db in a temp dir,
   a token secret of over 32 bytes and one source. A panel for agent `a-1` connects (its
   snapshot awaited), 200 conversations are opened with `start` events assigned to
   `a-1`, then customer/agent messages are replayed from the labelled chats in
   tests/data/conversations/dev (`expect`/`mood_label` stripped, each of the 200
   conversations plays one chat in order and wraps round; `ts` = time.time()).
   Every message has a unique `id`; its ack gives `(conversation, event index)`,
   which is the key of the `turn` record (and of its non-timer `prompt` records)
   at the panel. Latency = panel arrival - emit; ack latency = ack - emit (the ack
   comes after the durable SQLite commit).
3. Offered load is paced: every `--tick` (10 ms) the sender emits, as one batch,
   every event that is due by then (rate x elapsed), without awaiting acks (emit
   with a callback). After the last emit the run drains (bounded by `--drain`).
   Lost = sent - (acked ok and turn seen), split into unacked / refused / no turn.
   The added latency is Customer Sense minus the relay at the same rate, both for
   the raw distributions (both are printed) and as the difference of percentiles.
4. Ramp: the offered rate is raised (1000 from step 3, then `--ramp`) until a step
   is not sustained: throughput (events acked ok and seen as turns, divided by the
   time from the first emit to the last ack/turn) < 90% of offered, turn p99 >
   250 ms, or any event lost. With `--refine`, the midpoint between the last good
   and the first bad rate is tried once. The highest sustained rate is reported.
5. Memory per open conversation: two fresh child processes (`--memory rss|trace`)
   each build a `Hub` (engine, routing, SQLite store; a null emitter instead of
   Socket.IO) and ingest 10,000 conversations of start + 3 messages. One reports
   the RSS delta from /proc/self/statm (includes SQLite page cache and allocator
   slack), the other the tracemalloc delta (Python objects still alive).

Settings changed from the defaults, and why: the per-source rate limit (500 ev/s,
burst 1000) is lifted, or the 1000 msg/s phase would be refused by design. The
slow-panel limit (2000 queued packets) is kept; a dropped panel shows as lost turns.
CPU use of the server process (from /proc/<pid>/stat), of this process, and of
everything else on the machine (/proc/stat busy time minus those two) is reported
per phase: a generator near 100% means the generator, not the server, limits; a
large "other" means another workload shared the cores and the phase is disturbed.
For Customer Sense the server's own histogram (batch received -> records pushed,
including the wait for the hub lock) is read from /metrics before and after each
phase and reported as "in-srv", which splits server time from transport time.

Shutdown: on Python 3.11 `Hub.stop()` was seen to hang when it ran right after an
ingest (the timer task stays "cancelling" in `asyncio.wait_for(self._wake.wait())`:
the cancel is swallowed when the wake-up completes in the same loop turn). The
children therefore yield 0.1 s before stopping the hub and bound the cleanup; the
parent escalates stdin-EOF -> SIGTERM -> SIGKILL, each with a timeout.
"""

from __future__ import annotations

import argparse
import asyncio
import contextlib
import gc
import json
import math
import os
import platform
import signal
import socket
import subprocess
import sys
import tempfile
import threading
import time
import tracemalloc
from collections import Counter
from collections.abc import Callable, Hashable
from dataclasses import asdict, dataclass, field
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

import aiohttp  # noqa: E402
import socketio  # noqa: E402
from aiohttp import web  # noqa: E402

from assist import load_phrasebook  # noqa: E402
from assist.config import Limits, Settings  # noqa: E402
from assist.heap import settle  # noqa: E402
from assist.server import create_app  # noqa: E402
from assist.tokens import make_token  # noqa: E402
from tests.server_helpers import cpu_seconds  # noqa: E402

DATA = ROOT / "tests" / "data" / "conversations" / "dev"
SECRET = "bench-token-secret-0123456789abcdef-xyz"
SOURCE, SOURCE_SECRET = "bench", "bench-source-secret"
AGENT = "a-1"
ROOM = f"agent:{AGENT}"
MAX_BATCH = 500
P99_LIMIT_MS = 250.0
THROUGHPUT_FLOOR = 0.9


def log(message: str) -> None:
    print(message, file=sys.stderr, flush=True)


# -- the labelled chats -------------------------------------------------------------------
def load_chats() -> list[list[dict[str, Any]]]:
    """Each dev chat with `expect` and `mood_label` removed, in file order."""
    chats = []
    for path in sorted(DATA.glob("*.jsonl")):
        events = [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]
        for e in events:
            e.pop("expect", None)
            e.pop("mood_label", None)
        chats.append(events)
    if not chats:
        raise SystemExit(f"no labelled chats in {DATA}")
    return chats


def start_event(chat: list[dict[str, Any]], cid: str, ts: float) -> dict[str, Any]:
    first = next((e for e in chat if e.get("type") == "start"), {})
    return {"conversation": cid, "type": "start", "ts": ts, "agent": {"id": AGENT},
            "customer": first.get("customer", {}), "channel": first.get("channel", "web")}


def messages_of(chat: list[dict[str, Any]]) -> list[tuple[str, str]]:
    return [(e["role"], e["text"]) for e in chat if e.get("type") == "message"]


class Script:
    """Messages for `conversations` open chats: round-robin over them, each playing its chat in order."""

    def __init__(self, chats: list[list[dict[str, Any]]], conversations: int) -> None:
        self.chats = chats
        self.cids = [f"bench-{i:04d}" for i in range(conversations)]
        self.lines = [messages_of(chats[i % len(chats)]) for i in range(conversations)]
        self.cursor = [0] * conversations
        self.turn = 0

    def starts(self, ts: float) -> list[dict[str, Any]]:
        return [start_event(self.chats[i % len(self.chats)], cid, ts) for i, cid in enumerate(self.cids)]

    def next(self, event_id: str, ts: float) -> dict[str, Any]:
        i = self.turn % len(self.cids)
        self.turn += 1
        lines = self.lines[i]
        role, text = lines[self.cursor[i] % len(lines)]
        self.cursor[i] += 1
        return {"conversation": self.cids[i], "type": "message", "role": role, "text": text, "ts": ts,
                "id": event_id}


# -- servers (child processes) ------------------------------------------------------------
def bench_settings(port: int, db_dir: str) -> Settings:
    return Settings(host="127.0.0.1", port=port, db=str(Path(db_dir) / "assist.sqlite3"), secret=SECRET,
                    sources={SOURCE: SOURCE_SECRET},
                    limits=Limits(events_per_second=1e9, burst=10**9))


class RelayPanel(socketio.AsyncNamespace):  # type: ignore[misc]
    """Baseline /agent: every client sits in the one agent room."""

    async def on_connect(self, sid: str, environ: dict[str, Any], auth: Any = None) -> None:
        await self.enter_room(sid, ROOM)


class RelayIngest(socketio.AsyncNamespace):  # type: ignore[misc]
    """Baseline /ingest: emit each item of the batch to the room at once, then ack."""

    async def on_event(self, sid: str, data: Any) -> list[dict[str, Any]]:
        batch = data if isinstance(data, list) else [data]
        for item in batch:
            await self.server.emit("turn", item, room=ROOM, namespace="/agent")
        return [{"ok": True} for _ in batch]


def relay_app() -> web.Application:
    """The baseline server: python-socketio on aiohttp with the two relay namespaces, nothing else."""
    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*",
                               max_http_buffer_size=Limits().max_body_bytes)
    app = web.Application(client_max_size=Limits().max_body_bytes)
    sio.attach(app)
    sio.register_namespace(RelayPanel("/agent"))
    sio.register_namespace(RelayIngest("/ingest"))
    return app


async def serve(kind: str, port: int, db_dir: str) -> None:
    """Child: run one server until stdin closes or SIGTERM/SIGINT arrives."""
    app = relay_app() if kind == "relay" else create_app(bench_settings(port, db_dir), load_phrasebook())
    runner = web.AppRunner(app, shutdown_timeout=2, handle_signals=False)
    await runner.setup()
    await web.TCPSite(runner, "127.0.0.1", port).start()
    if not os.environ.get("BENCH_NO_SETTLE"):  # as `assist serve` does once it is up (assist/heap.py);
        settle()  # the relay too, to compare like with like. BENCH_NO_SETTLE=1 leaves the collector as it is
    loop = asyncio.get_running_loop()
    stop = asyncio.Event()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)

    def watch_stdin() -> None:  # the parent closing our stdin (or dying) stops us
        sys.stdin.read()
        loop.call_soon_threadsafe(stop.set)

    threading.Thread(target=watch_stdin, daemon=True).start()
    print("READY", flush=True)
    try:
        await stop.wait()
    finally:
        await asyncio.sleep(0.1)  # let a just-set hub wake-up run before its task is cancelled (see below)
        cleanup = asyncio.ensure_future(runner.cleanup())
        done, _ = await asyncio.wait({cleanup}, timeout=8)
        if cleanup not in done:
            # Hub.stop() can hang on Python 3.11: a cancel racing a completed asyncio.wait_for is
            # swallowed and the timer loop runs on. Leave without waiting (the store has committed).
            print("server cleanup did not finish in 8 s; exiting", file=sys.stderr, flush=True)
            os._exit(3)


def busy_cpu_seconds() -> float:
    """Busy time of all CPUs together (user+nice+system+irq+softirq+steal), from /proc/stat."""
    try:
        values = [int(v) for v in Path("/proc/stat").read_text().split("\n", 1)[0].split()[1:]]
    except (OSError, ValueError):
        return math.nan
    idle = values[3] + (values[4] if len(values) > 4 else 0)
    return (sum(values[:8]) - idle) / os.sysconf("SC_CLK_TCK")


def rss_bytes(pid: int | str = "self") -> int:
    try:
        return int(Path(f"/proc/{pid}/statm").read_text().split()[1]) * os.sysconf("SC_PAGE_SIZE")
    except OSError:
        return 0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class ServerProcess:
    """A `--serve` child; `stop()` closes its stdin, then SIGTERM, then SIGKILL (each bounded)."""

    def __init__(self, kind: str, workdir: Path) -> None:
        self.kind = kind
        self.port = free_port()
        self.db_dir = workdir / kind
        self.db_dir.mkdir(parents=True, exist_ok=True)
        self.log_path = workdir / f"{kind}.log"
        self.proc: asyncio.subprocess.Process | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def pid(self) -> int:
        assert self.proc is not None
        return self.proc.pid

    async def start(self, timeout: float = 30.0) -> None:
        with self.log_path.open("wb") as errors:
            self.proc = await asyncio.create_subprocess_exec(
                sys.executable, str(Path(__file__).resolve()), "--serve", self.kind, "--port", str(self.port),
                "--db-dir", str(self.db_dir), stdin=subprocess.PIPE, stdout=subprocess.PIPE, stderr=errors)
        assert self.proc.stdout is not None
        line = await asyncio.wait_for(self.proc.stdout.readline(), timeout)
        if line.strip() != b"READY":
            await self.stop()
            raise RuntimeError(f"{self.kind} server did not start: {self.log_tail()}")

    async def stop(self) -> None:
        proc = self.proc
        if proc is None or proc.returncode is not None:
            return
        if proc.stdin is not None:
            proc.stdin.close()
        for action, wait in ((None, 10.0), (proc.terminate, 3.0), (proc.kill, 3.0)):
            if action is not None:
                with contextlib.suppress(ProcessLookupError):
                    action()
            with contextlib.suppress(TimeoutError):
                await asyncio.wait_for(proc.wait(), wait)
                return

    def log_tail(self, lines: int = 8) -> str:
        try:
            return "\n".join(self.log_path.read_text(errors="replace").splitlines()[-lines:])
        except OSError:
            return ""


# -- statistics -----------------------------------------------------------------------------
def percentile(sorted_xs: list[float], q: float) -> float:
    """Linear interpolation between closest ranks (q in 0..100)."""
    if not sorted_xs:
        return math.nan
    pos = (len(sorted_xs) - 1) * q / 100
    lo = math.floor(pos)
    hi = min(lo + 1, len(sorted_xs) - 1)
    return sorted_xs[lo] + (sorted_xs[hi] - sorted_xs[lo]) * (pos - lo)


@dataclass
class Dist:
    """A latency sample in milliseconds."""

    n: int = 0
    p50: float = math.nan
    p90: float = math.nan
    p99: float = math.nan
    max: float = math.nan
    mean: float = math.nan

    @classmethod
    def of(cls, seconds: list[float]) -> Dist:
        xs = sorted(s * 1000 for s in seconds)
        if not xs:
            return cls()
        return cls(len(xs), percentile(xs, 50), percentile(xs, 90), percentile(xs, 99), xs[-1], sum(xs) / len(xs))


# -- the load generator --------------------------------------------------------------------
@dataclass
class Receiver:
    """What the panel got: arrival time per turn key, prompt arrivals, packet counts."""

    turns: dict[Hashable, float] = field(default_factory=dict)
    prompts: list[tuple[Hashable, float]] = field(default_factory=list)
    packets: Counter[str] = field(default_factory=Counter)
    snapshot: asyncio.Event = field(default_factory=asyncio.Event)
    dropped: bool = False
    closing: bool = False

    def on_turn(self, data: Any) -> None:
        now = time.perf_counter()
        self.packets["turn"] += 1
        if isinstance(data, dict):
            if "kind" in data:  # a Customer Sense turn record
                self.turns[(data.get("conversation"), data.get("event"))] = now
            else:  # the relay's echo of our event
                self.turns[data.get("id")] = now

    def on_prompt(self, data: Any) -> None:
        now = time.perf_counter()
        self.packets["prompt"] += 1
        if isinstance(data, dict) and data.get("trigger") != "timer" and not data.get("draft"):
            self.prompts.append(((data.get("conversation"), data.get("event")), now))


class Clients:
    """One /ingest client and one /agent panel client on websocket, in this process."""

    def __init__(self, url: str, system: str) -> None:
        self.url, self.system = url, system
        self.rx = Receiver()
        self.ingest = socketio.AsyncClient(reconnection=False)
        self.panel = socketio.AsyncClient(reconnection=False)
        self.panel.on("turn", self.rx.on_turn, namespace="/agent")
        self.panel.on("prompt", self.rx.on_prompt, namespace="/agent")
        for kind in ("conversation", "whisper"):
            self.panel.on(kind, self._counter(kind), namespace="/agent")
        self.panel.on("snapshot", self._on_snapshot, namespace="/agent")
        self.panel.on("disconnect", self._on_disconnect, namespace="/agent")

    def _counter(self, kind: str) -> Callable[[Any], None]:
        def count(data: Any) -> None:
            self.rx.packets[kind] += 1
        return count

    def _on_snapshot(self, data: Any) -> None:
        self.rx.snapshot.set()

    def _on_disconnect(self, reason: Any = None) -> None:
        if not self.rx.closing:
            self.rx.dropped = True

    async def connect(self) -> None:
        tok = make_token(SECRET, AGENT, ttl=3600, now=time.time())
        await asyncio.wait_for(self.panel.connect(self.url, namespaces=["/agent"], auth={"token": tok},
                                                  transports=["websocket"]), 10)
        if self.system == "cs":
            await asyncio.wait_for(self.rx.snapshot.wait(), 10)
        await asyncio.wait_for(self.ingest.connect(self.url, namespaces=["/ingest"],
                                                   auth={"source": SOURCE, "secret": SOURCE_SECRET},
                                                   transports=["websocket"]), 10)

    async def close(self) -> None:
        self.rx.closing = True
        for client in (self.ingest, self.panel):
            with contextlib.suppress(Exception):
                await asyncio.wait_for(client.disconnect(), 5)


@dataclass
class Phase:
    """One paced run at one offered rate, with everything needed to score it afterwards."""

    system: str
    rate: float
    duration: float
    tag: str
    send_t: list[float] = field(default_factory=list)
    ack_t: list[float | None] = field(default_factory=list)
    key: list[Hashable | None] = field(default_factory=list)
    refused: Counter[str] = field(default_factory=Counter)
    lag: list[float] = field(default_factory=list)
    batches: int = 0

    def on_ack(self, first: int, count: int) -> Callable[..., None]:
        def ack(results: Any = None, *_: Any) -> None:
            now = time.perf_counter()
            items = results if isinstance(results, list) and len(results) == count else [None] * count
            for i, res in enumerate(items):
                seq = first + i
                if not isinstance(res, dict) or not res.get("ok") or res.get("duplicate"):
                    error = (("duplicate" if res.get("duplicate") else res.get("error", "?"))
                             if isinstance(res, dict) else f"bad ack {results!r}")
                    self.refused[str(error)[:90]] += 1
                    self.ack_t[seq] = -1.0  # answered, not ok
                    continue
                self.ack_t[seq] = now
                if self.system == "cs":
                    self.key[seq] = (res.get("conversation"), res.get("event"))
        return ack


async def offer(clients: Clients, script: Script, phase: Phase, tick: float) -> None:
    """Emit rate x elapsed events, one batch per tick, never awaiting acks."""
    total = round(phase.rate * phase.duration)
    start = time.perf_counter()
    due_at = start
    sent = 0
    guard = time.monotonic() + phase.duration * 3 + 10  # a bounded loop even if the loop stalls
    while sent < total and time.monotonic() < guard:
        due_at += tick
        delay = due_at - time.perf_counter()
        if delay > 0:
            await asyncio.sleep(delay)
        now = time.perf_counter()
        phase.lag.append(max(0.0, now - due_at))
        due = min(total, math.floor((now - start) * phase.rate))
        while sent < due:
            n = min(due - sent, MAX_BATCH)
            ts = time.time()
            batch = [script.next(f"{phase.tag}-{sent + i}", ts) for i in range(n)]
            first = sent
            phase.send_t.extend([0.0] * n)
            phase.ack_t.extend([None] * n)
            phase.key.extend([e["id"] for e in batch] if phase.system == "relay" else [None] * n)
            t_emit = time.perf_counter()
            for i in range(n):
                phase.send_t[first + i] = t_emit
            await clients.ingest.emit("event", batch, namespace="/ingest", callback=phase.on_ack(first, n))
            phase.batches += 1
            sent += n


async def drain(clients: Clients, phase: Phase, timeout: float) -> None:
    """Wait until every event is answered and every ok event's turn has arrived (bounded)."""
    deadline = time.monotonic() + timeout
    turns = clients.rx.turns
    while time.monotonic() < deadline and not clients.rx.dropped:
        answered = all(t is not None for t in phase.ack_t)
        seen = all(k in turns for k, t in zip(phase.key, phase.ack_t, strict=True) if t is not None and t > 0)
        if answered and seen:
            await asyncio.sleep(0.1)  # prompts are pushed right after their batch's turns
            return
        await asyncio.sleep(0.05)


@dataclass
class PhaseResult:
    system: str
    rate: float
    duration: float
    sent: int
    batches: int
    send_rate: float
    acked_ok: int
    refused: int
    unacked: int
    no_turn: int
    lost: int
    throughput: float
    turn: Dist
    prompt: Dist
    ack: Dist
    sender_lag_p99_ms: float
    server_cpu: float
    client_cpu: float
    other_cpu: float
    server_rss_mb: float
    panel_dropped: bool
    packets: dict[str, int]
    refusals: dict[str, int]
    server_batch_ms: float = math.nan
    sustained: bool = False
    why_not: str = ""


def score(phase: Phase, rx: Receiver, cpu: tuple[float, float, float], rss: int) -> PhaseResult:
    by_key: dict[Hashable, int] = {}
    turn_lat: list[float] = []
    ack_lat: list[float] = []
    last = phase.send_t[0] if phase.send_t else 0.0
    ok = refused = unacked = no_turn = 0
    for seq, (sent, acked, key) in enumerate(zip(phase.send_t, phase.ack_t, phase.key, strict=True)):
        if acked is None:
            unacked += 1
            continue
        if acked < 0:
            refused += 1
            continue
        ack_lat.append(acked - sent)
        arrived = rx.turns.get(key) if key is not None else None
        if arrived is None:
            no_turn += 1
            continue
        ok += 1
        by_key[key] = seq
        turn_lat.append(arrived - sent)
        last = max(last, acked, arrived)
    prompt_lat = [t - phase.send_t[by_key[k]] for k, t in rx.prompts if k in by_key]
    sent_n = len(phase.send_t)
    span = last - phase.send_t[0] if sent_n else 0.0
    send_span = phase.send_t[-1] - phase.send_t[0] if sent_n > 1 else 0.0
    lag = sorted(phase.lag)
    result = PhaseResult(
        system=phase.system, rate=phase.rate, duration=phase.duration, sent=sent_n, batches=phase.batches,
        send_rate=(sent_n - 1) / send_span if send_span > 0 else math.nan,
        acked_ok=sent_n - unacked - refused, refused=refused, unacked=unacked, no_turn=no_turn,
        lost=sent_n - ok, throughput=ok / span if span > 0 else math.nan,
        turn=Dist.of(turn_lat), prompt=Dist.of(prompt_lat), ack=Dist.of(ack_lat),
        sender_lag_p99_ms=percentile(lag, 99) * 1000, server_cpu=cpu[0], client_cpu=cpu[1], other_cpu=cpu[2],
        server_rss_mb=rss / 2**20, panel_dropped=rx.dropped, packets=dict(rx.packets),
        refusals=dict(phase.refused))
    reasons = []
    if not result.throughput >= THROUGHPUT_FLOOR * phase.rate:
        reasons.append(f"throughput {result.throughput:.0f}/s < {THROUGHPUT_FLOOR:.0%} of offered")
    if not result.turn.p99 <= P99_LIMIT_MS:
        reasons.append(f"turn p99 {result.turn.p99:.0f} ms > {P99_LIMIT_MS:.0f} ms")
    if result.lost:
        reasons.append(f"{result.lost} lost")
    result.sustained, result.why_not = not reasons, "; ".join(reasons)
    return result


async def run_phase(server: ServerProcess, script: Script, rate: float, duration: float, tag: str,
                    args: argparse.Namespace) -> PhaseResult:
    clients = Clients(server.url, "relay" if server.kind == "relay" else "cs")
    await clients.connect()
    try:
        phase = Phase(clients.system, rate, duration, tag)
        before = await server_metrics(server) if server.kind == "app" else {}
        cpu0, srv0, all0 = time.process_time(), cpu_seconds(server.pid), busy_cpu_seconds()
        wall0 = time.perf_counter()
        await offer(clients, script, phase, args.tick)
        await drain(clients, phase, args.drain)
        wall = time.perf_counter() - wall0
        srv, cli = (cpu_seconds(server.pid) - srv0) / wall, (time.process_time() - cpu0) / wall
        other = max(0.0, (busy_cpu_seconds() - all0) / wall - srv - cli)
        result = score(phase, clients.rx, (srv, cli, other), rss_bytes(server.pid))
        if server.kind == "app":
            after = await server_metrics(server)
            batches = after.get("batches_pushed", 0) - before.get("batches_pushed", 0)
            if batches > 0:
                result.server_batch_ms = (after["push_seconds"] - before["push_seconds"]) / batches * 1000
    finally:
        await clients.close()
    log(f"  {server.kind:5} {rate:6.0f}/s  sent {result.sent:6}  thrpt {result.throughput:7.0f}/s  "
        f"turn p50 {result.turn.p50:7.2f} p99 {result.turn.p99:8.2f} ms  lost {result.lost}  "
        f"cpu srv {result.server_cpu:.0%} cli {result.client_cpu:.0%} other {result.other_cpu:.0%}"
        + ("" if result.sustained else f"  [{result.why_not}]"))
    await asyncio.sleep(args.pause)
    return result


async def open_conversations(server: ServerProcess, script: Script) -> None:
    clients = Clients(server.url, "cs")
    await clients.connect()
    try:
        starts = script.starts(time.time())
        for i in range(0, len(starts), 100):
            acks = await clients.ingest.call("event", starts[i:i + 100], namespace="/ingest", timeout=30)
            bad = [a for a in acks if not a.get("ok")]
            if bad:
                raise RuntimeError(f"opening conversations failed: {bad[:3]}")
    finally:
        await clients.close()


async def server_metrics(server: ServerProcess) -> dict[str, Any]:
    """Errors by kind and the in-server batch time (received -> pushed) from /metrics."""
    out: dict[str, Any] = {"errors": {}}
    try:
        async with aiohttp.ClientSession(timeout=aiohttp.ClientTimeout(total=10)) as http, \
                http.get(f"{server.url}/metrics") as resp:
            text = await resp.text()
    except (aiohttp.ClientError, TimeoutError) as exc:
        return {"error": str(exc)}
    total = count = 0.0
    for line in text.splitlines():
        if line.startswith("assist_errors_total{"):
            kind = line.split('kind="', 1)[1].split('"', 1)[0]
            out["errors"][kind] = float(line.rsplit(" ", 1)[1])
        elif line.startswith("assist_message_to_prompt_seconds_sum"):
            total = float(line.rsplit(" ", 1)[1])
        elif line.startswith("assist_message_to_prompt_seconds_count"):
            count = float(line.rsplit(" ", 1)[1])
    out["batches_pushed"] = int(count)
    out["push_seconds"] = total
    out["mean_batch_to_push_ms"] = total / count * 1000 if count else math.nan
    return out


# -- memory (child processes) ---------------------------------------------------------------
class NullEmitter:
    async def emit(self, event: str, data: Any, *, room: str, namespace: str) -> None:
        return None


async def memory_child(mode: str, conversations: int, db_dir: str) -> dict[str, Any]:
    """Child: Hub with a real SQLite store; `conversations` opened with start + 3 messages each."""
    from assist.live import Hub
    from assist.metrics import Metrics
    from assist.store import SQLiteStore

    settings = bench_settings(0, db_dir)
    hub = Hub(settings, load_phrasebook(), SQLiteStore(settings.db), NullEmitter(), Metrics())
    chats = load_chats()

    def events(prefix: str, lo: int, hi: int) -> list[dict[str, Any]]:
        now = time.time()
        out = []
        for i in range(lo, hi):
            chat = chats[i % len(chats)]
            cid = f"{prefix}-{i}"
            out.append(start_event(chat, cid, now))
            out.extend({"conversation": cid, "type": "message", "role": role, "text": text, "ts": now}
                       for role, text in messages_of(chat)[:3])
        return out

    await hub.start()
    try:
        for lo in range(0, 200, 100):  # warm caches (regexes, templates, store) before measuring
            await hub.ingest(events("warm", lo, lo + 100), source=SOURCE)
        gc.collect()
        if mode == "trace":
            tracemalloc.start()
        before = rss_bytes()
        t0 = time.perf_counter()
        refused = 0
        for lo in range(0, conversations, 100):
            results = await hub.ingest(events("mem", lo, min(conversations, lo + 100)), source=SOURCE)
            refused += sum(not r.ok for r in results)
        elapsed = time.perf_counter() - t0
        gc.collect()
        if mode == "trace":
            grown = tracemalloc.get_traced_memory()[0]
            tracemalloc.stop()
        else:
            grown = rss_bytes() - before
        open_now = sum(1 for c in hub.engine.conversations() if not c.ended)
    finally:
        await asyncio.sleep(0.1)  # the hub's timer task must see its wake-up before it is cancelled
        stopping = asyncio.ensure_future(hub.stop())
        await asyncio.wait({stopping}, timeout=5)
    return {"mode": mode, "conversations": conversations, "open": open_now, "refused": refused,
            "bytes_total": grown, "bytes_per_conversation": grown / conversations, "ingest_s": elapsed,
            "hub_stopped_cleanly": stopping.done()}


async def memory_main(mode: str, conversations: int, db_dir: str) -> None:
    result = await memory_child(mode, conversations, db_dir)
    print(json.dumps(result), flush=True)
    if not result["hub_stopped_cleanly"]:
        os._exit(0)  # a hung timer task would keep asyncio.run's final cancel waiting forever


async def measure_memory(mode: str, conversations: int, workdir: Path, timeout: float) -> dict[str, Any]:
    db_dir = workdir / f"mem-{mode}"
    db_dir.mkdir(parents=True, exist_ok=True)
    proc = await asyncio.create_subprocess_exec(
        sys.executable, str(Path(__file__).resolve()), "--memory", mode, "--mem-conversations",
        str(conversations), "--db-dir", str(db_dir), stdout=subprocess.PIPE, stderr=subprocess.PIPE)
    try:
        out, err = await asyncio.wait_for(proc.communicate(), timeout)
    except TimeoutError:
        with contextlib.suppress(ProcessLookupError):
            proc.kill()
        await proc.wait()
        return {"mode": mode, "error": f"timed out after {timeout:.0f} s"}
    if proc.returncode != 0:
        return {"mode": mode, "error": err.decode(errors="replace")[-500:]}
    result: dict[str, Any] = json.loads(out)
    return result


# -- the run --------------------------------------------------------------------------------
def fs_type(path: Path) -> str:
    best, kind = "", "?"
    target = str(path.resolve())
    with contextlib.suppress(OSError):
        for line in Path("/proc/mounts").read_text().splitlines():
            parts = line.split()
            if len(parts) > 2 and target.startswith(parts[1]) and len(parts[1]) > len(best):
                best, kind = parts[1], parts[2]
    return kind


def added(cs: Dist, relay: Dist) -> dict[str, float]:
    return {"p50": cs.p50 - relay.p50, "p90": cs.p90 - relay.p90, "p99": cs.p99 - relay.p99}


async def bench(args: argparse.Namespace) -> dict[str, Any]:
    began = time.monotonic()
    chats = load_chats()
    rates = [float(r) for r in args.rates.split(",")]
    workdir = Path(tempfile.mkdtemp(prefix="assist-bench-", dir=args.db_dir))
    report: dict[str, Any] = {
        "machine": {"cpus": os.cpu_count(), "python": platform.python_version(),
                    "cpu": _cpu_model(), "db_dir": str(workdir), "db_fs": fs_type(workdir),
                    "loadavg_start": _loadavg()},
        "method": {"transport": "websocket", "load_generator": "separate process from the server",
                   "tick_ms": args.tick * 1000, "duration_s": args.duration,
                   "ramp_duration_s": args.ramp_duration, "conversations": args.conversations,
                   "rate_limit": "lifted for the bench (default 500 ev/s per source)"},
    }
    # 1. the bare relay
    relay = ServerProcess("relay", workdir)
    relay_results: dict[float, PhaseResult] = {}
    try:
        log(f"relay server (pid in child) on {relay.url}")
        await relay.start()
        script = Script(chats, args.conversations)
        await run_phase(relay, script, 200, args.warmup, "rw", args)
        for rate in rates:
            relay_results[rate] = await run_phase(relay, script, rate, args.duration, f"r{rate:.0f}", args)
    finally:
        await relay.stop()
    # 2-4. Customer Sense
    app = ServerProcess("app", workdir)
    cs_results: dict[float, PhaseResult] = {}
    ramp: list[PhaseResult] = []
    ramp_note = ""
    try:
        log(f"Customer Sense server on {app.url}")
        await app.start()
        script = Script(chats, args.conversations)
        await open_conversations(app, script)
        await run_phase(app, script, 200, args.warmup, "cw", args)
        for rate in rates:
            cs_results[rate] = await run_phase(app, script, rate, args.duration, f"c{rate:.0f}", args)
        report["server_metrics_after_latency_phases"] = await server_metrics(app)
        steps = [r for r in (float(x) for x in args.ramp.split(",")) if r > max(rates)]
        good = max((r for r, res in cs_results.items() if res.sustained), default=0.0)
        bad = min((r for r, res in cs_results.items() if not res.sustained), default=math.inf)
        ramp.extend(res for r, res in sorted(cs_results.items()) if r == max(rates))
        for rate in steps:
            if bad < math.inf:
                break
            if time.monotonic() - began + args.ramp_duration + args.drain > args.budget:
                ramp_note = f"ramp stopped by the time budget ({args.budget:.0f} s) before {rate:.0f}/s"
                break
            res = await run_phase(app, script, rate, args.ramp_duration, f"u{rate:.0f}", args)
            ramp.append(res)
            if res.sustained:
                good = rate
            else:
                bad = rate
        if args.refine and good and bad < math.inf and bad - good > 250 and \
                time.monotonic() - began + args.ramp_duration + args.drain <= args.budget:
            await asyncio.sleep(2.0)  # let a backlog from the failed step clear
            mid = round((good + bad) / 2 / 250) * 250
            res = await run_phase(app, script, mid, args.ramp_duration, f"m{mid:.0f}", args)
            ramp.append(res)
            if res.sustained:
                good = mid
        if bad == math.inf and not ramp_note:
            ramp_note = "never fell behind within the ramp; the true limit is higher"
        report["server_metrics_end"] = await server_metrics(app)
    finally:
        await app.stop()
    for server in (relay, app):
        tail = server.log_tail(20)
        if tail:
            report.setdefault("server_log_tail", {})[server.kind] = tail
    report["latency"] = [
        {"rate": rate, "relay": asdict(relay_results[rate]), "customer_sense": asdict(cs_results[rate]),
         "added_turn_ms": added(cs_results[rate].turn, relay_results[rate].turn),
         "added_prompt_ms": added(cs_results[rate].prompt, relay_results[rate].turn)}
        for rate in rates if rate in relay_results and rate in cs_results]
    report["ramp"] = {"steps": [asdict(r) for r in ramp], "highest_sustained": good,
                      "first_failed": None if bad == math.inf else bad, "note": ramp_note,
                      "criteria": f"throughput >= {THROUGHPUT_FLOOR:.0%} of offered, turn p99 <= "
                                  f"{P99_LIMIT_MS:.0f} ms, nothing lost"}
    # 5. memory
    if args.mem_conversations > 0:
        log(f"memory: {args.mem_conversations:,} conversations in fresh child processes")
        report["memory"] = [await measure_memory(mode, args.mem_conversations, workdir, args.mem_timeout)
                            for mode in ("rss", "trace")]
    report["machine"]["loadavg_end"] = _loadavg()
    report["elapsed_s"] = time.monotonic() - began
    if not args.keep:
        import shutil
        shutil.rmtree(workdir, ignore_errors=True)
    return report


def _loadavg() -> str:
    try:
        return " ".join(Path("/proc/loadavg").read_text().split()[:3])
    except OSError:
        return "?"


def _cpu_model() -> str:
    with contextlib.suppress(OSError):
        for line in Path("/proc/cpuinfo").read_text().splitlines():
            if line.startswith("model name"):
                return line.split(":", 1)[1].strip()
    return platform.processor() or "?"


# -- printing -------------------------------------------------------------------------------
def _f(x: float, width: int = 7, digits: int = 2) -> str:
    return f"{x:{width}.{digits}f}" if not math.isnan(x) else " " * (width - 1) + "-"


def _cpu(res: dict[str, Any]) -> str:
    return f"{res['server_cpu']:>4.0%} {res['client_cpu']:>4.0%} {res['other_cpu']:>5.0%}"


def print_report(r: dict[str, Any]) -> None:
    m = r["machine"]
    print(f"Customer Sense live path on loopback ({r['method']['transport']}; load generator and panel in one "
          f"process, each server in its own)")
    print(f"machine: {m['cpus']} CPUs ({m['cpu']}), Python {m['python']}, SQLite db on {m['db_fs']}; "
          f"load average {m['loadavg_start']} at start, {m['loadavg_end']} at end")
    print("cpu columns: server process / load generator / all other processes, in % of one core "
          "(other > ~20% means the numbers are disturbed)")
    print()
    print("Latency in ms from emit at /ingest to the record at the /agent panel "
          f"(paced, {r['method']['tick_ms']:.0f} ms batches, {r['method']['duration_s']:g} s per rate)")
    head = (f"{'rate/s':>6} {'what':<15} {'n':>5} {'p50':>7} {'p90':>7} {'p99':>7} {'max':>7} "
            f"{'ack p50':>7} {'ack p99':>7} {'in-srv':>6} {'lost':>4} {'thrpt/s':>7} {'srv':>4} {'gen':>4} "
            f"{'other':>5}")
    print(head)
    print("-" * len(head))
    for row in r["latency"]:
        rate = row["rate"]
        for label, res, dist in (("bare relay", row["relay"], row["relay"]["turn"]),
                                 ("CS turn", row["customer_sense"], row["customer_sense"]["turn"]),
                                 ("CS prompt", row["customer_sense"], row["customer_sense"]["prompt"])):
            tail = (f"{_f(res['ack']['p50'])} {_f(res['ack']['p99'])} {_f(res['server_batch_ms'], 6)} "
                    f"{res['lost']:>4} {_f(res['throughput'], 7, 0)} {_cpu(res)}" if label != "CS prompt" else "")
            print(f"{rate:>6.0f} {label:<15} {dist['n']:>5} {_f(dist['p50'])} {_f(dist['p90'])} "
                  f"{_f(dist['p99'])} {_f(dist['max'])} {tail}")
        for label, diff in (("added, turn", row["added_turn_ms"]), ("added, prompt", row["added_prompt_ms"])):
            print(f"{rate:>6.0f} {label:<15} {'':>5} {diff['p50']:+7.2f} {diff['p90']:+7.2f} {diff['p99']:+7.2f}")
        print()
    print("added = CS percentile - relay percentile at the same rate (prompt: against the relay's hop); "
          "in-srv = mean ms per batch from receipt to records pushed, incl. waiting for the hub lock "
          "(server metric)")
    print()
    ramp = r["ramp"]
    print(f"Ramp (Customer Sense, {r['method']['ramp_duration_s']:g} s per step; sustained = {ramp['criteria']})")
    head = (f"{'rate/s':>6} {'sent':>6} {'sent/s':>6} {'thrpt/s':>7} {'p50':>7} {'p99':>8} {'ack p99':>8} "
            f"{'in-srv':>6} {'lost':>5} {'srv':>4} {'gen':>4} {'other':>5}  verdict")
    print(head)
    print("-" * len(head))
    for s in ramp["steps"]:
        print(f"{s['rate']:>6.0f} {s['sent']:>6} {_f(s['send_rate'], 6, 0)} {_f(s['throughput'], 7, 0)} "
              f"{_f(s['turn']['p50'])} {_f(s['turn']['p99'], 8)} {_f(s['ack']['p99'], 8)} "
              f"{_f(s['server_batch_ms'], 6)} {s['lost']:>5} {_cpu(s)}  "
              f"{'ok' if s['sustained'] else 'NO: ' + s['why_not']}")
    print(f"highest sustained: {ramp['highest_sustained']:.0f} analysed messages/s in one process"
          + (f" (first failed: {ramp['first_failed']:.0f}/s)" if ramp["first_failed"] else "")
          + (f"; {ramp['note']}" if ramp["note"] else ""))
    print()
    for mem in r.get("memory", []):
        what = "RSS delta (/proc/self/statm)" if mem["mode"] == "rss" else "tracemalloc (live Python objects)"
        if "error" in mem:
            print(f"memory, {what}: failed: {mem['error'][-300:]}")
            continue
        print(f"memory per open conversation, {what}: {mem['bytes_per_conversation'] / 1024:.1f} KB "
              f"({mem['conversations']:,} conversations of start + 3 messages, {mem['open']:,} open in all; "
              f"{mem['bytes_total'] / 2**20:.1f} MB)")
    errors = r.get("server_metrics_end", {}).get("errors", {})
    if errors:
        print(f"server errors counted by /metrics: {errors}")
    if r.get("server_log_tail"):
        print(f"server stderr (tail): {json.dumps(r['server_log_tail'])[:600]}")
    print(f"total run time {r['elapsed_s']:.0f} s")


def _finite(obj: Any) -> Any:
    """NaN (no sample) becomes null, so the JSON is strict."""
    if isinstance(obj, float) and not math.isfinite(obj):
        return None
    if isinstance(obj, dict):
        return {k: _finite(v) for k, v in obj.items()}
    if isinstance(obj, list | tuple):
        return [_finite(v) for v in obj]
    return obj


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__.split("\n\n")[0] if __doc__ else None)
    parser.add_argument("--json", action="store_true", help="print the report as JSON instead of a table")
    parser.add_argument("--rates", default="200,1000", help="offered rates for the latency comparison")
    parser.add_argument("--duration", type=float, default=6.0, help="seconds per latency phase")
    parser.add_argument("--ramp", default="2000,3000,4000,5000,6000,8000,10000,12000")
    parser.add_argument("--ramp-duration", type=float, default=5.0, help="seconds per ramp step")
    parser.add_argument("--refine", type=int, default=1, help="try the midpoint after the first failure (0/1)")
    parser.add_argument("--warmup", type=float, default=2.0, help="seconds at 200/s before measuring")
    parser.add_argument("--tick", type=float, default=0.010, help="seconds between batches")
    parser.add_argument("--drain", type=float, default=8.0, help="max seconds to wait for acks/turns")
    parser.add_argument("--pause", type=float, default=0.5, help="quiet seconds between phases")
    parser.add_argument("--conversations", type=int, default=200)
    parser.add_argument("--mem-conversations", type=int, default=10_000, help="0 skips the memory step")
    parser.add_argument("--mem-timeout", type=float, default=120.0)
    parser.add_argument("--budget", type=float, default=150.0, help="no new ramp step after this many seconds")
    parser.add_argument("--db-dir", default=None, help="where the temp SQLite dbs go (default: system temp)")
    parser.add_argument("--keep", action="store_true", help="keep the temp dir (dbs and server logs)")
    parser.add_argument("--serve", choices=("relay", "app"), help=argparse.SUPPRESS)
    parser.add_argument("--port", type=int, default=0, help=argparse.SUPPRESS)
    parser.add_argument("--memory", choices=("rss", "trace"), help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.serve:
        asyncio.run(serve(args.serve, args.port, args.db_dir))
        return
    if args.memory:
        asyncio.run(memory_main(args.memory, args.mem_conversations, args.db_dir))
        return
    report = asyncio.run(bench(args))
    if args.json:
        print(json.dumps(_finite(report), indent=2))
    else:
        print_report(report)


if __name__ == "__main__":
    main()
