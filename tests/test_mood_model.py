"""The learned mood check: its corrections and their evidence, its weights file, and training."""

from __future__ import annotations

from pathlib import Path
from typing import Any

import pytest

from assist import load_phrasebook
from assist.engine import Engine
from assist.errors import RuleFileError
from assist.evaluate import load_labelled
from assist.moodtrain import accuracy, fit, to_yaml, training_rows

from .conftest import DATA

BOOK = load_phrasebook()
SETS = DATA / "conversations"


def customer_turn(text: str, book: Any = BOOK, opening: tuple[str, str] | None = None) -> dict[str, Any]:
    """The record of the customer's `text` after the agent's greeting, or after the customer's
    and the agent's `opening`."""
    engine = Engine(book)
    engine.feed({"conversation": "c", "type": "start", "ts": 0})
    if opening is not None:
        engine.feed({"conversation": "c", "type": "message", "ts": 1, "role": "customer", "text": opening[0]})
    engine.feed({"conversation": "c", "type": "message", "ts": 2, "role": "agent",
                 "text": opening[1] if opening else "Hi, how can I help?"})
    records = engine.feed({"conversation": "c", "type": "message", "ts": 9, "role": "customer", "text": text})
    return next(r for r in records if r["kind"] == "turn")


def model_step(turn: dict[str, Any]) -> dict[str, Any] | None:
    return next((a for a in turn["evidence"]["adjustments"] if a["cue"] == "mood-model"), None)


def test_the_shipped_model_is_loaded_with_the_phrasebook() -> None:
    model = BOOK.mood_model
    assert model is not None and len(model.weights) > 1000
    assert model.upset_value <= -0.05 < model.calm_value and 0 < model.reach < 1


def test_an_implicit_complaint_no_cue_knows_reads_upset_with_the_words_behind_it() -> None:
    turn = customer_turn("I am paying every month for this")
    step = model_step(turn)
    assert turn["mood"] == "upset" and step is not None
    assert step["effect"].startswith("mood model: upset (p ") and "'every'" in step["quote"]
    assert step["before"] > -0.05 and step["after"] == turn["sentiment"] == -0.1


def test_a_flat_report_of_a_problem_is_not_an_upset_turn() -> None:
    """The failure-report cue has no sentiment effect of its own (readers of real support chats call
    such a turn neutral); the cue stays, for the rules and as one of the mood model's inputs."""
    turn = customer_turn("hello, the internet is not working since morning")
    assert turn["mood"] == "neutral" and "failure-report" in turn["cues"]
    assert model_step(turn) is None and turn["sentiment"] == turn["evidence"]["base"]
    assert "cue:failure-report" in BOOK.mood_model.weights  # type: ignore[union-attr]


@pytest.mark.parametrize("text", ["WHERE IS MY REFUND...!!!", "You people are unbelievable", "this is a scam"])
def test_a_strong_reading_stands(text: str) -> None:
    turn = customer_turn(text)
    assert turn["mood"] == "upset" and model_step(turn) is None


def test_the_same_words_read_upset_after_an_upset_turn() -> None:
    calm = customer_turn("what about my money", opening=("hi, a question about my order", "Sure, which order?"))
    after = customer_turn("what about my money", opening=(
        "this is the third time I write, my refund never came and nobody answers!!", "Let me check that for you."))
    assert calm["mood"] == "neutral" and after["mood"] == "upset"
    step = model_step(after)
    assert step is not None and "upset a turn ago" in step["quote"] and "upset earlier in the chat" in step["quote"]


def test_a_sure_model_overrules_a_strong_reading_and_says_so() -> None:
    polite = customer_turn("hello, windscreen is broken from a stone on highway. policy TR-55102")
    step = model_step(polite)
    assert polite["mood"] == "neutral" and step is not None and step["before"] < -0.3
    assert step["effect"].endswith("sure enough to overrule a strong reading")
    said = "WEATHER?? its sunny here and every other airline is flying. dont give me policy"
    angry = customer_turn(said,
                          opening=("my flight was cancelled and nobody tells me anything!!",
                                   "Unfortunately our policy does not cover weather cancellations."))
    step = model_step(angry)
    assert angry["mood"] == "upset" and step is not None and step["before"] > 0.3
    assert step["effect"].endswith("overruling a strong reading in the light of the chat so far")
    # the evidence names what weighed most, all of it from this turn and its context (which comes
    # first depends on the trained weights): the agent's excuse, the turn's cues and words, the upset before
    named = [f.strip() for f in step["quote"].split(",")]
    allowed = {"agent policy-excuse", "upset earlier in the chat", "upset a turn ago"}
    allowed |= {f"cue {c}" for c in angry["cues"]}
    assert named and all(f in allowed or (f.startswith("'") and f.strip("'") in said.lower()) for f in named), named
    assert "upset earlier in the chat" in named or "upset a turn ago" in named or "agent policy-excuse" in named


def test_after_the_first_turn_a_strong_reading_gives_way_to_the_chat_so_far() -> None:
    # VADER reads "play" and "music" as pleasant; in the first turn that reading stands (one-message
    # texts, VADER's own ground truth among them, are first turns), after an excuse to an upset customer
    # the model's call wins without having to be 0.8 sure
    said = "he shout at me and play loud music"
    first = customer_turn(said)
    later = customer_turn(said, opening=("my order is 10 days late and nobody answers my emails!!",
                                         "Our courier partner is responsible for deliveries."))
    assert first["mood"] == "positive" and model_step(first) is None
    step = model_step(later)
    assert later["mood"] == "upset" and step is not None and step["before"] == round(first["sentiment"], 3) > 0.3
    p = float(step["effect"].split("(p ")[1].split(")")[0])
    assert 0.5 <= p < BOOK.mood_model.sure_beyond_reach  # below the first turn's bar: the later one let it through
    assert step["effect"].endswith("in the light of the chat so far")


def test_agent_turns_are_never_corrected() -> None:
    engine = Engine(BOOK)
    engine.feed({"conversation": "c", "type": "start", "ts": 0})
    records = engine.feed({"conversation": "c", "type": "message", "ts": 2, "role": "agent",
                           "text": "I'm sorry, I am paying attention to every detail of this"})
    assert model_step(records[0]) is None


def test_without_the_weights_file_the_cue_layer_score_stands(book_copy: Path) -> None:
    (book_copy / "mood-model.yaml").unlink()
    plain = load_phrasebook(book_copy)
    assert plain.mood_model is None
    turn = customer_turn("I am paying every month for this", plain)
    assert turn["mood"] != "upset" and model_step(turn) is None


def test_a_cue_the_model_never_learned_keeps_its_call(book_copy: Path) -> None:
    """A supervisor's new cue is not silently undone by a model trained before it existed."""
    text = "ok the blue screen again, grr"
    assert customer_turn(text)["mood"] != "upset"
    (book_copy / "cues" / "team.yaml").write_text(
        "cues:\n"
        "  growl:\n"
        "    role: customer\n"
        "    about: a written growl\n"
        "    patterns: ['\\bgrr+\\b']\n"
        "    sentiment: {at_most: -0.1}\n"
        "    examples: {match: ['grrr'], no_match: ['great']}\n")
    book = load_phrasebook(book_copy)
    assert "growl" not in book.mood_model.learned_cues and "frustration" in book.mood_model.learned_cues
    turn = customer_turn(text, book)
    assert turn["mood"] == "upset" and "growl" in turn["cues"]
    assert model_step(turn) is None


def test_a_broken_weights_file_is_an_error_with_file_and_line(book_copy: Path) -> None:
    path = book_copy / "mood-model.yaml"
    lines = path.read_text().splitlines()
    weights_at = lines.index("  weights:")
    lines[weights_at + 1] = '    "word:zzlate": lots'
    lines[weights_at + 2] = '    "zzlate": 0.5'
    lines = [("  upset_value: 0.2" if line.startswith("  upset_value:") else
              "  sure_beyond_reach: 0.4" if line.startswith("  sure_beyond_reach:") else
              "  sure_beyond_reach_later: 1.5" if line.startswith("  sure_beyond_reach_later:") else line)
             for line in lines]
    path.write_text("\n".join(lines) + "\n")
    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(book_copy)
    text = str(caught.value)
    assert f"{path}:{weights_at + 2}:" in text and "the weight of 'word:zzlate' must be a number" in text
    assert f"{path}:{weights_at + 3}:" in text and "'zzlate' is not a feature name" in text
    assert "upset_value must read as upset" in text and "sure_beyond_reach must lie between 0.5 and 1" in text
    assert "sure_beyond_reach_later must lie between 0.5 and 1" in text


def test_training_is_repeatable_and_learns_from_the_labels() -> None:
    labelled = load_labelled([SETS / name for name in ("dev8", "dev9", "dev10", "dev45")])
    rows = training_rows(BOOK, labelled)
    assert len(rows) > 250 and {r.group for r in rows} == {"dev8", "dev9", "dev10", "dev45"}
    first, second = fit(rows, min_sets=2), fit(rows, min_sets=2)
    assert to_yaml(first, {}) == to_yaml(second, {})
    assert any(f.startswith("word:") for f in first.weights) and any(f.startswith("cue:") for f in first.weights)
    assert accuracy(first, rows) > accuracy(None, rows)
    firsts = [r for r in rows if "ctx:first" in r.features]  # each chat's first customer turn, as live
    assert 0 < len(firsts) <= len(labelled) and all("ctx:upset-before" not in r.features for r in firsts)


def test_the_shipped_model_never_learned_from_a_held_out_set() -> None:
    model = BOOK.mood_model
    assert model is not None
    held_out = {p.name for p in SETS.iterdir() if p.name.startswith("heldout")} - {"heldout9", "heldout10"}
    assert set(model.trained_on["sets"]).isdisjoint(held_out)
    assert model.trained_on["rows"] > 5000
