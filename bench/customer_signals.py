"""Customer messages written by people who never saw our cue files: how many threats, demands
beyond a fix, meek give-ups and outbursts the customer cues find, and how many they imagine.

    .venv/bin/python bench/customer_signals.py         # tests/data/customer-signals/*.jsonl

Each line is one customer message (`text`), the signals a writer put in it (`signals`: any of
threat, beyond-fair, giving-up, venting; [] for none) and the writer's reason (`why`). Each
message is fed to the engine as a one-message chat; a signal counts as found when the turn
has a cue of the phrasebook's group for it (`threats`, `beyond-fair`, `venting`) or, for a
give-up, `resigned`. Files are `development` (read while writing cues) or `blind` (only these
totals were looked at); tests/data/customer-signals/README.md.
"""

from __future__ import annotations

import json
import sys
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from assist.engine import Engine  # noqa: E402
from assist.phrasebook import Phrasebook  # noqa: E402
import file_tables  # noqa: E402

DATA = ROOT / "tests" / "data" / "customer-signals"
GROUPS = {"development": ("a-translated", "b-native", "d-games-apps", "e-services-letters", "f-chat-mt",
                          "g-phone-typing"),
          "blind": ("c-mixed", "h-mixed-2"),
          "calm": ("calm-mt", "calm-phone")}  # no signal at all, only words that sound like one
SIGNALS = {"threat": "threats", "beyond-fair": "beyond-fair", "giving-up": None, "venting": "venting"}
FIELDS = {"text", "signals", "why"}


def read(path: Path) -> list[dict[str, Any]]:
    """The messages of one file; a malformed line raises ValueError naming file and line."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        item = json.loads(line)
        if set(item) != FIELDS or not set(item["signals"]) <= set(SIGNALS):
            raise ValueError(f"{path}:{n}: expected {sorted(FIELDS)} with known signals")
        out.append(item)
    return out


def cues_for(book: Phrasebook) -> dict[str, set[str]]:
    """Signal -> the cue ids that show it, from the phrasebook's own cue groups."""
    return {s: set(book.cue_groups[g]) if g else {"resigned"} for s, g in SIGNALS.items()}


def tally(book: Phrasebook, items: list[dict[str, Any]]) -> dict[str, list[int]]:
    """Per signal: [found, missed, found where the writer put none, rightly left out]."""
    wanted = cues_for(book)
    out = {s: [0, 0, 0, 0] for s in SIGNALS}
    for item in items:
        engine = Engine(book)
        engine.feed({"conversation": "x", "type": "start", "ts": 0})
        records = engine.feed({"conversation": "x", "type": "message", "ts": 1, "role": "customer",
                               "text": item["text"]})
        cues = set(next(r for r in records if r["kind"] == "turn")["cues"])
        for signal, ids in wanted.items():
            found, meant = bool(cues & ids), signal in item["signals"]
            out[signal][(0 if found else 1) if meant else (2 if found else 3)] += 1
    return out


def add(a: dict[str, list[int]], b: dict[str, list[int]]) -> dict[str, list[int]]:
    return {s: [x + y for x, y in zip(a[s], b[s])] for s in SIGNALS}


def by_group(book: Phrasebook) -> dict[str, tuple[list[tuple[str, dict[str, list[int]]]], dict[str, list[int]]]]:
    """Per group of GROUPS: each file's tally, and the group's total."""
    out = {}
    for group, names in GROUPS.items():
        rows = [(name, tally(book, read(DATA / f"{name}.jsonl"))) for name in names]
        total = {s: [0, 0, 0, 0] for s in SIGNALS}
        for _, t in rows:
            total = add(total, t)
        out[group] = (rows, total)
    return out


def table(rows: list[tuple[str, dict[str, list[int]]]]) -> str:
    lines = ["| messages | " + " | ".join(f"{s}: found / imagined" for s in SIGNALS) + " |",
             "|---" * (len(SIGNALS) + 1) + "|"]
    for name, t in rows:
        cells = [f"{f}/{f + m} ({f / max(1, f + m):.0%}) / {i} of {i + n}" for f, m, i, n in t.values()]
        lines.append(f"| {name} | " + " | ".join(cells) + " |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return file_tables.main(__doc__ or "", argv, read=read, tally=tally, by_group=by_group, table=table)


if __name__ == "__main__":
    raise SystemExit(main())
