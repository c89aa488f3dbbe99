"""Cost of the analysis core against bare VADER, measured in the same run.

    .venv/bin/python bench/analysis.py [--events 100000] [--conversations 10000]

1. Per customer message: `engine.feed` (cues, CS sentiment, trend, type, phrasebook)
   against bare `SentimentIntensityAnalyzer.polarity_scores` on the same messages,
   alternating rounds so both see the same machine noise. Target <= 1.5x.
2. Replay of a generated file of >= 100k events (labelled chats cloned and
   interleaved): events/s, and its ratio to bare VADER scoring the same messages.
3. Long messages (a pasted email, up to the contract's 16 KB): `engine.feed` against bare VADER
   on texts of 1 to 16 KB made of labelled turns, and on a run-on text with no end mark, the
   shape that once made a cue pattern backtrack for seconds. Median of five texts a size.
4. Engine memory per open conversation: tracemalloc over N open conversations that
   have each had a typical chat so far. Target <= 20 KB.
5. Process memory (RSS, Linux): after loading the phrasebook, and after all of the
   above. It includes what tracemalloc cannot see: RE2's automata and their DFA caches
   (assist/prefilter.py), which belong to the process, not to a conversation.
"""

from __future__ import annotations

import argparse
import gc
import json
import os
import random
import statistics
import sys
import time
import tracemalloc
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from vaderSentiment.vaderSentiment import SentimentIntensityAnalyzer  # noqa: E402

from assist import Engine, load_phrasebook  # noqa: E402
from assist.replay import replay  # noqa: E402

DATA = ROOT / "tests" / "data" / "conversations"


def rss_mb() -> float:
    """Resident memory of this process in MB (Linux /proc; 0 elsewhere)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except OSError:
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 2**20


def labelled_chats() -> list[list[dict[str, Any]]]:
    chats = []
    for path in sorted(DATA.rglob("*.jsonl")):
        events = [json.loads(line) for line in path.read_text().splitlines() if line.strip()]
        for e in events:
            e.pop("expect", None)
            e.pop("mood_label", None)
        chats.append(events)
    return chats


def clone(chat: list[dict[str, Any]], cid: str, offset: float) -> list[dict[str, Any]]:
    return [{**e, "conversation": cid, "ts": e["ts"] + offset} for e in chat]


def per_message(book: Any, chats: list[list[dict[str, Any]]], rounds: int) -> dict[str, Any]:
    texts = [e["text"] for c in chats for e in c if e.get("type") == "message" and e["role"] == "customer"]
    vader = SentimentIntensityAnalyzer()
    engine_ns: list[float] = []
    vader_ns: list[float] = []
    lat_engine: list[float] = []
    lat_vader: list[float] = []
    for r in range(rounds):
        engine = Engine(book)
        events = [{"conversation": f"m{r}-{i % 50}", "type": "message", "ts": float(i), "role": "customer",
                   "text": t} for i, t in enumerate(texts)]
        gc.collect()
        t0 = time.perf_counter_ns()
        for t in texts:
            s = time.perf_counter_ns()
            vader.polarity_scores(t)
            lat_vader.append(time.perf_counter_ns() - s)
        t1 = time.perf_counter_ns()
        for e in events:
            s = time.perf_counter_ns()
            engine.feed(e)
            lat_engine.append(time.perf_counter_ns() - s)
        t2 = time.perf_counter_ns()
        vader_ns.append((t1 - t0) / len(texts))
        engine_ns.append((t2 - t1) / len(texts))
    v, e = statistics.median(vader_ns), statistics.median(engine_ns)
    q = statistics.quantiles
    return {
        "messages": len(texts), "rounds": rounds,
        "vader_us": v / 1000, "engine_us": e / 1000, "ratio": e / v,
        "vader_p50_us": q(lat_vader, n=100)[49] / 1000, "vader_p99_us": q(lat_vader, n=100)[98] / 1000,
        "engine_p50_us": q(lat_engine, n=100)[49] / 1000, "engine_p99_us": q(lat_engine, n=100)[98] / 1000,
    }


def big_replay(book: Any, chats: list[list[dict[str, Any]]], target_events: int) -> dict[str, Any]:
    rng = random.Random(7)
    events: list[dict[str, Any]] = []
    n = 0
    while len(events) < target_events:
        chat = chats[n % len(chats)]
        events.extend(clone(chat, f"big-{n}", offset=rng.uniform(0, 3600 * 8)))
        n += 1
    events.sort(key=lambda e: e["ts"])  # conversations interleave as in a real export
    lines = [(i, json.dumps(e)) for i, e in enumerate(events, 1)]
    texts = [e["text"] for e in events if e.get("type") == "message"]
    vader = SentimentIntensityAnalyzer()
    gc.collect()
    t0 = time.perf_counter()
    for t in texts:
        vader.polarity_scores(t)
    t1 = time.perf_counter()
    engine = Engine(book)
    count = 0
    for _, records in replay(engine, lines):
        count += len(records)
    t2 = time.perf_counter()
    return {"events": len(events), "conversations": n, "messages": len(texts), "records": count,
            "replay_s": t2 - t1, "vader_s": t1 - t0, "events_per_s": len(events) / (t2 - t1),
            "ratio": (t2 - t1) / (t1 - t0)}


LONG_SIZES = (1000, 2000, 4000, 8000, 16000)  # characters; the contract's limit is 16 KiB of UTF-8


def long_messages(book: Any, chats: list[list[dict[str, Any]]]) -> list[dict[str, Any]]:
    """Milliseconds a long customer message costs: bare VADER and `engine.feed`, five texts a size."""
    texts = [e["text"] for c in chats for e in c if e.get("type") == "message" and e["role"] == "customer"]
    vader = SentimentIntensityAnalyzer()
    rows = []
    for shape in ("prose", "run-on"):
        for size in LONG_SIZES:
            rng = random.Random(size)
            vader_ms, engine_ms = [], []
            for k in range(5):
                text = ""
                while len(text) < size:
                    turn = rng.choice(texts)
                    text += (turn if shape == "prose" else "".join(ch for ch in turn if ch not in ".!?")) + " "
                tail = ". why is this still not fixed ?!" if shape == "run-on" else ""
                text = text[:size - len(tail)] + tail
                t0 = time.perf_counter()
                vader.polarity_scores(text)
                t1 = time.perf_counter()
                Engine(book).feed({"conversation": f"long-{k}", "type": "message", "ts": 0.0, "role": "customer",
                                   "text": text})
                t2 = time.perf_counter()
                vader_ms.append((t1 - t0) * 1000)
                engine_ms.append((t2 - t1) * 1000)
            v, e = statistics.median(vader_ms), statistics.median(engine_ms)
            rows.append({"shape": shape, "chars": size, "vader_ms": v, "engine_ms": e, "ratio": e / v})
    return rows


def memory(book: Any, chats: list[list[dict[str, Any]]], conversations: int) -> dict[str, Any]:
    engine = Engine(book)
    # warm caches (regex, jinja) before measuring
    for e in clone(chats[0], "warm", 0):
        engine.feed(e)
    engine.forget("warm")
    gc.collect()
    tracemalloc.start()
    before = tracemalloc.take_snapshot()
    for i in range(conversations):
        chat = chats[i % len(chats)]
        for e in clone(chat, f"mem-{i}", 0):
            if e.get("type") == "end":
                continue  # keep every conversation open
            engine.feed(e)
    gc.collect()
    after = tracemalloc.take_snapshot()
    tracemalloc.stop()
    grown = sum(s.size_diff for s in after.compare_to(before, "filename"))
    return {"conversations": conversations, "bytes_total": grown, "bytes_per_conversation": grown / conversations}


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--events", type=int, default=100_000)
    parser.add_argument("--conversations", type=int, default=10_000)
    parser.add_argument("--rounds", type=int, default=5)
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--phrasebook", "-p", action="append", metavar="P",
                        help="phrasebook directory or file (default: the shipped one), e.g. one without the learned models")
    args = parser.parse_args()
    rss_start = rss_mb()
    book = load_phrasebook(*(args.phrasebook or ()))
    rss_loaded = rss_mb()
    chats = labelled_chats()
    result: dict[str, Any] = {"per_message": per_message(book, chats, args.rounds)}
    rss_scored = rss_mb()  # the DFA caches have seen every labelled turn `rounds` times
    result["replay"] = big_replay(book, chats, args.events)
    result["long"] = long_messages(book, chats)
    result["memory"] = memory(book, chats, args.conversations)
    result["process"] = {"rss_start_mb": rss_start, "rss_loaded_mb": rss_loaded, "rss_scored_mb": rss_scored,
                         "rss_end_mb": rss_mb()}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    pm, rp, mem = result["per_message"], result["replay"], result["memory"]
    print(f"per customer message ({pm['messages']} messages x {pm['rounds']} rounds)")
    print(f"  bare VADER      {pm['vader_us']:8.1f} us   p50 {pm['vader_p50_us']:.1f}  p99 {pm['vader_p99_us']:.1f}")
    print(f"  engine.feed     {pm['engine_us']:8.1f} us   p50 {pm['engine_p50_us']:.1f}  p99 {pm['engine_p99_us']:.1f}")
    print(f"  ratio           {pm['ratio']:8.2f} x   (target <= 1.5)")
    print(f"replay of {rp['events']:,} events ({rp['conversations']:,} conversations, {rp['messages']:,} messages)")
    print(f"  {rp['events_per_s']:,.0f} events/s; {rp['replay_s']:.1f} s vs bare VADER on the same messages "
          f"{rp['vader_s']:.1f} s = {rp['ratio']:.2f} x")
    print("long messages (median of five a size; ms)      bare VADER   engine.feed   ratio")
    for row in result["long"]:
        print(f"  {row['shape']:6s} {row['chars']:6,d} characters            {row['vader_ms']:9.1f}   "
              f"{row['engine_ms']:11.1f}   {row['ratio']:5.2f} x")
    print(f"memory: {mem['bytes_per_conversation'] / 1024:.1f} KB per open conversation "
          f"({mem['conversations']:,} open; target <= 20 KB)")
    proc = result["process"]
    print(f"process RSS: {proc['rss_start_mb']:.0f} MB at start, {proc['rss_loaded_mb']:.0f} MB with the "
          f"phrasebook loaded, {proc['rss_scored_mb']:.0f} MB after the per-message rounds, "
          f"{proc['rss_end_mb']:.0f} MB at the end (the replay's records and 10k open conversations)")


if __name__ == "__main__":
    main()
