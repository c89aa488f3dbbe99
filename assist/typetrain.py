"""Training the type model (`assist train-types`) from labelled conversations.

Each labelled conversation is replayed through the engine without a type model (the
mood model, if any, stays: it is part of how the turns are read), and its state after
the last customer turn becomes one row, labelled with the conversation's `expect.type`
("none" when null). Only words used in at least `min_sets` labelled sets (directories,
one author each) become features. The fit is a softmax regression with an L2 penalty
on the feature weights, by full-batch gradient steps: the same data always gives the
same weights. Train on development sets only and measure on held-out ones.
"""

from __future__ import annotations

import json
import math
from collections import defaultdict
from dataclasses import dataclass, replace
from typing import Any

from .conversation import QUOTE_CHARS
from .engine import Engine
from .evaluate import Labelled
from .moodtrain import file_head, used_by_enough
from .phrasebook import Phrasebook
from .replay import replay
from .typemodel import CLASSES, NONE, WORD, TypeModel, chat_features, turn_words


@dataclass(frozen=True)
class ChatRow:
    group: str
    features: dict[str, float]
    label: str
    profiler: str  # the profiler's own call at the end, for comparison


def training_rows(phrasebook: Phrasebook, labelled: list[Labelled]) -> list[ChatRow]:
    """One row per labelled conversation: what the type model would see after its last customer turn."""
    book = replace(phrasebook, types=replace(phrasebook.types, model=None))
    rows = []
    for item in labelled:
        engine = Engine(book)
        lines = [(n, json.dumps(e)) for n, e in enumerate(item.events, 1)]
        for _ in replay(engine, lines):
            pass
        conv = engine.conversation(item.conversation)
        if conv is None or conv.profiler is None or conv.counts.customer == 0:
            continue
        words: set[str] = set()
        for event in item.events:
            if event.get("type") == "message" and event.get("role") == "customer" and isinstance(event.get("text"),
                                                                                                   str):
                words |= turn_words(event["text"][:QUOTE_CHARS])
        own = conv.profiler.own.label
        features = chat_features(conv.profile, own, conv.customer_said, words, conv.trend.lowest,
                                 conv.trend.upset_turns / max(1, conv.trend.turns))
        rows.append(ChatRow(item.path.parent.name, features, item.expect.get("type") or NONE, own or NONE))
    return rows


def fit(rows: list[ChatRow], *, min_sets: int = 6, l2: float = 1e-3, steps: int = 200,
        rate: float = 0.05) -> TypeModel:
    keep = used_by_enough([(r.group, r.features) for r in rows], min_sets, (WORD,))
    names = sorted(keep)
    column = {f: i for i, f in enumerate(names)}
    data = [([(column[f], x) for f, x in sorted(r.features.items()) if f in column], CLASSES.index(r.label))
            for r in rows]
    k, c = len(names), len(CLASSES)
    w = [[0.0] * c for _ in range(k)]
    bias = [0.0] * c
    m_w = [[0.0] * c for _ in range(k)]
    v_w = [[0.0] * c for _ in range(k)]
    m_b, v_b = [0.0] * c, [0.0] * c
    beta1, beta2 = 0.9, 0.999
    n = max(1, len(data))
    for step in range(1, steps + 1):
        g_w = [[0.0] * c for _ in range(k)]
        g_b = [0.0] * c
        for feats, y in data:
            logits = list(bias)
            for i, x in feats:
                row = w[i]
                for j in range(c):
                    logits[j] += row[j] * x
            top = max(logits)
            exp = [math.exp(z - top) for z in logits]
            total = sum(exp)
            delta = [(e / total - (1.0 if j == y else 0.0)) / n for j, e in enumerate(exp)]
            for j in range(c):
                g_b[j] += delta[j]
            for i, x in feats:
                grow = g_w[i]
                for j in range(c):
                    grow[j] += delta[j] * x
        correction1, correction2 = 1 - beta1 ** step, 1 - beta2 ** step
        for j in range(c):
            m_b[j] = beta1 * m_b[j] + (1 - beta1) * g_b[j]
            v_b[j] = beta2 * v_b[j] + (1 - beta2) * g_b[j] ** 2
            bias[j] -= rate * (m_b[j] / correction1) / (math.sqrt(v_b[j] / correction2) + 1e-8)
        for i in range(k):
            row, grow, mrow, vrow = w[i], g_w[i], m_w[i], v_w[i]
            for j in range(c):
                g = grow[j] + l2 * row[j]
                mrow[j] = beta1 * mrow[j] + (1 - beta1) * g
                vrow[j] = beta2 * vrow[j] + (1 - beta2) * g * g
                row[j] -= rate * (mrow[j] / correction1) / (math.sqrt(vrow[j] / correction2) + 1e-8)
    weights: dict[str, dict[str, float]] = {}
    for i, name in enumerate(names):
        per_class = {CLASSES[j]: round(w[i][j], 4) for j in range(c) if abs(w[i][j]) >= 1e-3}
        if per_class:
            weights[name] = per_class
    return TypeModel(bias={CLASSES[j]: round(bias[j], 4) for j in range(c)}, weights=weights)


def accuracy(model: TypeModel | None, rows: list[ChatRow], *, typed_only: bool = True) -> float:
    """Share of rows whose type the model (or, with None, the profiler) names right."""
    pool = [r for r in rows if r.label != NONE or not typed_only]
    if not pool:
        return 1.0
    right = 0
    for r in pool:
        # as the engine decides at the last turn, with the profiler's call also the one shown
        said = r.profiler if model is None else model.choose(model.probabilities(r.features), r.profiler, r.profiler)
        right += said == r.label
    return right / len(pool)


def to_yaml(model: TypeModel, trained_on: dict[str, Any]) -> str:
    lines = [
        *file_head("type", "cues, types.yaml or labels",
                   "Each feature lists the types it weighs towards (positive) or away from (negative).",
                   model.about or "complainer type or none, learned from labelled development chats", trained_on),
        f"  threshold: {model.threshold}",
        f"  switch_margin: {model.switch_margin}",
        "  bias: {" + ", ".join(f"{k}: {v}" for k, v in model.bias.items()) + "}",
        "  weights:",
    ]
    strongest = sorted(model.weights.items(), key=lambda kv: (-max(abs(v) for v in kv[1].values()), kv[0]))
    for name, row in strongest:
        lines.append(f"    {json.dumps(name)}: {{" + ", ".join(f"{k}: {v}" for k, v in row.items()) + "}")
    return "\n".join(lines) + "\n"
