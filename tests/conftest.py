from __future__ import annotations

import json
import shutil
from collections.abc import Iterable
from pathlib import Path
from typing import Any

import pytest

from assist import Engine, load_phrasebook
from assist.phrasebook import Phrasebook

ROOT = Path(__file__).resolve().parent.parent
DATA = ROOT / "tests" / "data"


@pytest.fixture(scope="session")
def phrasebook() -> Phrasebook:
    return load_phrasebook()


@pytest.fixture
def engine(phrasebook: Phrasebook) -> Engine:
    return Engine(phrasebook)


@pytest.fixture
def book_copy(tmp_path: Path) -> Path:
    """A copy of the shipped phrasebook directory, for a test to edit."""
    book = tmp_path / "book"
    shutil.copytree(ROOT / "phrasebooks", book)
    return book


def run(engine: Engine, events: Iterable[dict[str, Any]], *, finish: bool = False) -> list[dict[str, Any]]:
    """Feed events in order; `{"tick": t}` items advance the clock instead."""
    out: list[dict[str, Any]] = []
    for event in events:
        if "tick" in event:
            out.extend(engine.tick(event["tick"]))
        else:
            out.extend(engine.feed(event))
    if finish:
        out.extend(engine.finish())
    return out


def chat(*steps: tuple[str, str], cid: str = "c", profile: dict[str, Any] | None = None,
         gap: float = 10.0) -> list[dict[str, Any]]:
    """A start event and messages `gap` seconds apart: chat(("customer", "hi"), ("agent", "hello"))."""
    events: list[dict[str, Any]] = [{"conversation": cid, "type": "start", "ts": 0,
                                     "customer": profile or {}, "agent": {"id": "a-1"}}]
    for n, (role, text) in enumerate(steps, 1):
        events.append({"conversation": cid, "type": "message", "ts": n * gap, "role": role, "text": text})
    return events


def load_jsonl(path: Path) -> list[dict[str, Any]]:
    return [json.loads(line) for line in path.read_text(encoding="utf-8").splitlines() if line.strip()]


def prompts(records: list[dict[str, Any]], prompt_id: str | None = None) -> list[dict[str, Any]]:
    return [r for r in records if r["kind"] == "prompt" and (prompt_id is None or r["prompt"] == prompt_id)]
