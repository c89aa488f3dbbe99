"""The learned type check: when it overrules the profiler, its evidence, its weights file, training."""

from __future__ import annotations

import json
from dataclasses import replace
from pathlib import Path
from typing import Any

import pytest

from assist import load_phrasebook
from assist.engine import Engine
from assist.errors import RuleFileError
from assist.evaluate import load_labelled
from assist.phrasebook import Phrasebook
from assist.replay import replay
from assist.typetrain import accuracy, fit, to_yaml, training_rows

from .conftest import DATA

BOOK = load_phrasebook()
SETS = DATA / "conversations"
WITHOUT_MODEL = replace(BOOK, types=replace(BOOK.types, model=None))


def customer_types(path: Path, book: Phrasebook = BOOK) -> list[Any]:
    item = load_labelled([path])[0]
    engine = Engine(book)
    lines = [(n, json.dumps(e)) for n, e in enumerate(item.events, 1)]
    return [r["customer_type"] for _, recs in replay(engine, lines) for r in recs
            if r["kind"] == "turn" and r["role"] == "customer"]


def test_the_shipped_model_is_loaded_with_the_types() -> None:
    model = BOOK.types.model
    assert model is not None and len(model.weights) > 500
    assert set(model.bias) == {"none", "meek", "aggressive", "vip", "ripoff", "chronic"}


def test_a_meek_customer_the_profiler_leaves_untyped_is_named_with_the_turns_behind_it() -> None:
    # "sorry for disturb" ... "no its fine. maybe tomorrow they come, I will wait": no type cue adds
    # up to meek (dev49-009 was the example until "is not important, leave it" became a give-up)
    chat = SETS / "dev47" / "dev47-002.jsonl"
    assert customer_types(chat, WITHOUT_MODEL)[-1] is None
    last = customer_types(chat)[-1]
    assert last["label"] == "meek" and 0.5 <= last["confidence"] <= 1
    whys = [e["why"] for e in last["evidence"]]
    assert all(w.startswith("type model: ") for w in whys) and any("towards meek" in w for w in whys)
    assert any(e["quote"] == "sorry for disturb" and e["event"] == 12 for e in last["evidence"])


def test_a_calm_chat_stays_untyped() -> None:
    # A VIP-tier customer is the exception: the authors disagree on whether a calm VIP-tier
    # customer is the "vip" type (45 calm chats in the corpus say yes, dev51-003 says no), so
    # the first turn may be named vip from the profile alone; the chat must still end as labelled.
    for chat in sorted((SETS / "dev51").glob("*.jsonl")):
        item = load_labelled([chat])[0]
        if not item.expect.get("calm"):
            continue
        types = customer_types(chat)
        if item.events[0]["customer"].get("tier") == "vip":
            assert {t["label"] for t in types if t is not None} <= {"vip"}, chat.name
            assert (types[-1] and types[-1]["label"]) == item.expect.get("type"), chat.name
        else:
            assert all(t is None for t in types), chat.name


def test_the_type_does_not_flap_over_the_labelled_chats() -> None:
    flips = 0
    for chat in sorted((SETS / "dev").glob("*.jsonl")) + sorted((SETS / "heldout").glob("*.jsonl")):
        labels = [t["label"] if t else None for t in customer_types(chat)]
        flips += any(a == c != b for a, b, c in zip(labels, labels[1:], labels[2:]))
    assert flips == 0


def test_without_the_weights_file_the_profiler_decides(book_copy: Path) -> None:
    (book_copy / "type-model.yaml").unlink()
    plain = load_phrasebook(book_copy)
    assert plain.types.model is None
    assert customer_types(SETS / "dev47" / "dev47-002.jsonl", plain)[-1] is None


def test_a_broken_weights_file_is_an_error_with_file_and_line(book_copy: Path) -> None:
    path = book_copy / "type-model.yaml"
    lines = path.read_text().splitlines()
    at = lines.index("  weights:")
    lines[at + 1] = '    "word:zzsorry": {meek: lots}'
    lines[at + 2] = '    "zzsorry": {meek: 0.5}'
    lines[at + 3] = '    "word:zzplease": {angry: 0.5}'
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(book_copy)
    text = str(caught.value)
    assert f"{path}:{at + 2}:" in text and "'word:zzsorry': 'meek' must be one of" in text
    assert f"{path}:{at + 3}:" in text and "'zzsorry' is not a feature name" in text
    assert f"{path}:{at + 4}:" in text and "'angry' must be one of none, meek" in text


def test_training_is_repeatable_and_learns_from_the_labels() -> None:
    names = ("dev8", "dev9", "dev10", "dev45", "dev46", "dev47")
    rows = training_rows(WITHOUT_MODEL, load_labelled([SETS / n for n in names]))
    assert len(rows) > 100 and {r.group for r in rows} == set(names)
    first, second = fit(rows, min_sets=3, steps=60), fit(rows, min_sets=3, steps=60)
    assert to_yaml(first, {}) == to_yaml(second, {})
    assert any(f.startswith("word:") for f in first.weights) and "rules:meek" in first.weights
    assert accuracy(first, rows, typed_only=False) >= accuracy(None, rows, typed_only=False)


def test_the_shipped_model_never_learned_from_a_held_out_set() -> None:
    model = BOOK.types.model
    assert model is not None
    held_out = {p.name for p in SETS.iterdir() if p.name.startswith("heldout")} - {"heldout9", "heldout10"}
    assert set(model.trained_on["sets"]).isdisjoint(held_out) and model.trained_on["rows"] > 1000


def test_a_reloaded_type_model_takes_over_open_conversations(book_copy: Path) -> None:
    path = book_copy / "type-model.yaml"
    path.write_text(path.read_text().replace("about: ", "about: reloaded, ", 1))
    reloaded = load_phrasebook(book_copy)
    assert reloaded.types.model is not BOOK.types.model
    item = load_labelled([SETS / "dev49" / "dev49-009.jsonl"])[0]
    engine = Engine(BOOK)
    events = item.events
    half = len(events) // 2
    for e in events[:half]:
        engine.feed(e)
    engine.use_phrasebook(reloaded)
    records = [r for e in events[half:] for r in engine.feed(e)]
    last = [r for r in records if r["kind"] == "turn" and r["role"] == "customer"][-1]
    assert last["customer_type"]["label"] == "meek"
    assert last["customer_type"] == customer_types(SETS / "dev49" / "dev49-009.jsonl")[-1]
