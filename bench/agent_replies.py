"""Agent replies, good and bad, written by people who never saw our cue files: how many bad
ones the agent-side prompts catch, and how many good ones they leave alone.

    .venv/bin/python bench/agent_replies.py            # tests/data/agent-replies/*.jsonl
    .venv/bin/python bench/agent_replies.py FILE...

Each line of a file is one exchange: a customer message (`customer`, with the writer's
`customer_mood`: upset or calm), the agent's reply (`agent`), the prompts the reply deserves
(`prompts`: any of no-excuses, dont-pass-buck, dont-argue; [] for a good reply) and the
writer's reason (`why`). Each exchange is fed to the engine as a chat of two messages, and
the prompts fired on the agent's reply are compared with `prompts`.

The files come in two groups (tests/data/agent-replies/README.md): `development`, whose
misses were read while writing agent cues, and `blind`, measured only as the totals below.
"""

from __future__ import annotations

import json
import sys
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

HERE = Path(__file__).resolve().parent
ROOT = HERE.parent
sys.path.insert(0, str(ROOT))

from assist.engine import Engine  # noqa: E402
from assist.phrasebook import Phrasebook  # noqa: E402
import file_tables  # noqa: E402

DATA = ROOT / "tests" / "data" / "agent-replies"
WARNINGS = ("no-excuses", "dont-pass-buck", "dont-argue")
GROUPS = {"development": ("a-contact-centre", "b-second-language", "c-app-chat", "f-utilities-banks",
                          "g-travel", "h-marketplaces", "i-software", "j-games-apps-mt", "k-isp-home-tech"),
          "blind": ("d-translated-customers", "e-friendly-agents", "l-shops-delivery", "m-money-travel")}
FIELDS = {"customer", "customer_mood", "agent", "prompts", "why"}


@dataclass
class Tally:
    """Per warning: [caught, missed, fired on a reply that did not deserve it]; good replies."""

    counts: dict[str, list[int]] = field(default_factory=lambda: {w: [0, 0, 0] for w in WARNINGS})
    good: int = 0
    good_fired: int = 0

    def add(self, other: Tally) -> None:
        for w in WARNINGS:
            self.counts[w] = [a + b for a, b in zip(self.counts[w], other.counts[w])]
        self.good += other.good
        self.good_fired += other.good_fired

    def recall(self, warning: str) -> float:
        caught, missed, _ = self.counts[warning]
        return caught / (caught + missed) if caught + missed else 1.0


def read(path: Path) -> list[dict[str, Any]]:
    """The exchanges of one file; a malformed line raises ValueError naming file and line."""
    out = []
    for n, line in enumerate(path.read_text().splitlines(), 1):
        item = json.loads(line)
        if set(item) != FIELDS or item["customer_mood"] not in ("upset", "calm") \
                or not set(item["prompts"]) <= set(WARNINGS):
            raise ValueError(f"{path}:{n}: expected {sorted(FIELDS)} with a known mood and prompts")
        out.append(item)
    return out


def fired_on_reply(book: Phrasebook, item: dict[str, Any]) -> set[str]:
    """The prompts the engine fires on the agent's reply of one exchange."""
    engine = Engine(book)
    engine.feed({"conversation": "x", "type": "start", "ts": 0, "customer": {"tier": "standard"}})
    engine.feed({"conversation": "x", "type": "message", "ts": 5, "role": "customer", "text": item["customer"]})
    records = engine.feed({"conversation": "x", "type": "message", "ts": 30, "role": "agent", "text": item["agent"]})
    return {r["prompt"] for r in records if r["kind"] == "prompt"}


def tally(book: Phrasebook, items: list[dict[str, Any]]) -> Tally:
    out = Tally()
    for item in items:
        fired = fired_on_reply(book, item) & set(WARNINGS)
        want = set(item["prompts"])
        if not want:
            out.good += 1
            out.good_fired += bool(fired)
        for w in WARNINGS:
            if w in want:
                out.counts[w][0 if w in fired else 1] += 1
            elif w in fired:
                out.counts[w][2] += 1
    return out


def by_group(book: Phrasebook) -> dict[str, tuple[list[tuple[str, Tally]], Tally]]:
    """Per group of GROUPS: each file's tally, and the group's total."""
    out = {}
    for group, names in GROUPS.items():
        rows = [(name, tally(book, read(DATA / f"{name}.jsonl"))) for name in names]
        total = Tally()
        for _, t in rows:
            total.add(t)
        out[group] = (rows, total)
    return out


def table(rows: list[tuple[str, Tally]]) -> str:
    head = "| replies | " + " | ".join(f"{w}: caught / fired wrongly" for w in WARNINGS) + " | good replies with a prompt |"
    lines = [head, "|---" * (len(WARNINGS) + 2) + "|"]
    for name, t in rows:
        cells = [f"{t.counts[w][0]}/{t.counts[w][0] + t.counts[w][1]} ({t.recall(w):.0%}) / {t.counts[w][2]}"
                 for w in WARNINGS]
        lines.append(f"| {name} | " + " | ".join(cells) + f" | {t.good_fired} of {t.good} |")
    return "\n".join(lines)


def main(argv: list[str] | None = None) -> int:
    return file_tables.main(__doc__ or "", argv, read=read, tally=tally, by_group=by_group, table=table)


if __name__ == "__main__":
    raise SystemExit(main())
