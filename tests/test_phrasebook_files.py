"""Phrasebook load errors: each invalid file says file, line, column and what is wrong."""

from __future__ import annotations

import re
from pathlib import Path

import pytest

from assist import Engine, RuleFileError, load_phrasebook
from assist.errors import LabelError, Location
from assist.examples import check_examples
from assist.phrasebook import DEFAULT_DIR

from .conftest import chat, prompts, run

HERE = Path(__file__).parent / "phrasebooks"
INVALID = sorted((HERE / "invalid").glob("*.yaml"))


@pytest.mark.parametrize("path", INVALID, ids=[p.stem for p in INVALID])
def test_invalid_phrasebook_reports_where_and_what(path: Path) -> None:
    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(path)
    reported = [str(i) for i in caught.value.issues]
    for want in path.with_suffix(".expected").read_text().splitlines():
        spot, words = want.split(": ", 1)
        expected_prefix = f"{path.name}:{spot}: "
        assert any(r.split("/")[-1].startswith(expected_prefix) and words in r for r in reported), (
            f"expected {expected_prefix}{words}\n got:\n  " + "\n  ".join(reported))


def test_load_error_survives_a_process_boundary() -> None:
    """`assist backtest` loads each side in a worker process: the parent must get the same issues."""
    import pickle

    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(INVALID[0])
    back = pickle.loads(pickle.dumps(caught.value))
    assert type(back) is RuleFileError
    assert [str(i) for i in back.issues] == [str(i) for i in caught.value.issues]
    assert [str(i) for i in back.warnings] == [str(i) for i in caught.value.warnings]
    assert str(back) == str(caught.value)
    label = LabelError(Location("chat.jsonl", 3), "mood_label 'angry' is not one of upset, neutral, positive")
    assert str(pickle.loads(pickle.dumps(label))) == str(label)


def test_every_invalid_case_has_its_expectation() -> None:
    assert INVALID and all(p.with_suffix(".expected").exists() for p in INVALID)


def test_shipped_phrasebook_loads_and_covers_the_contract_ids() -> None:
    book = load_phrasebook()
    ids = {e.id for e in book.entries}
    contract = {"let-them-vent", "no-excuses", "hold-update", "be-firm", "draw-out", "vip-care",
                "chronic-patience", "empathize", "apologize", "dont-pass-buck", "dont-argue",
                "move-to-solution", "escalation-risk", "take-a-break", "follow-up"}
    assert contract <= ids
    assert {e.id: e.audience for e in book.entries}["escalation-risk"] == "supervisor"


def test_shipped_examples_all_pass() -> None:
    issues, count = check_examples(load_phrasebook())
    assert not issues, "\n".join(map(str, issues))
    assert count > 100


def test_team_layer_overrides_disables_and_adds() -> None:
    base = load_phrasebook()
    team = load_phrasebook(DEFAULT_DIR, HERE / "valid" / "team.yaml")
    assert team.entry("vip-care") is not None and not team.entry("vip-care").enabled  # type: ignore[union-attr]
    reworded = team.entry("no-excuses")
    assert reworded is not None and reworded.text.startswith("Team rule")
    assert reworded.when is not None and reworded.when.source == base.entry("no-excuses").when.source  # type: ignore[union-attr]
    assert "warranty-question" in team.cues.cues
    issues, _ = check_examples(team)
    assert not issues, "\n".join(map(str, issues))
    records = run(Engine(team), chat(("customer", "Is my kettle still under warranty?"),
                                     profile={"tier": "vip"}))
    assert [p["prompt"] for p in prompts(records)] == ["warranty-help"]


def test_a_team_layer_can_redefine_a_cue_group(tmp_path: Path) -> None:
    """The shipped `deflecting` group feeds several rules; a team that does not count an
    argument as deflecting changes that one list, and every rule using it follows."""
    base = load_phrasebook()
    assert "argue" in base.cue_groups["deflecting"]
    assert "argue" in base.entry("apologize").when.references.cues  # type: ignore[union-attr]
    team = tmp_path / "team.yaml"
    team.write_text("cue_groups:\n  deflecting: [policy-excuse, blame-system, blame-other, pass-buck]\n"
                    "entries:\n  - id: dodge-check\n    on: agent\n    when: \"'deflecting' in cues\"\n"
                    "    text: Say what you can do.\n    severity: info\n    audience: supervisor\n"
                    "    examples:\n      fire: [[agent: That is our policy.]]\n"
                    "      silent: [[agent: \"That's not correct, you are wrong.\"]]\n")
    layered = load_phrasebook(DEFAULT_DIR, team)
    assert layered.cue_groups["deflecting"] == ("policy-excuse", "blame-system", "blame-other", "pass-buck")
    assert "argue" not in layered.entry("apologize").when.references.cues  # type: ignore[union-attr]
    dodge = chat(("customer", "Where is my parcel?"), ("agent", "Unfortunately our policy is to wait 10 days."))
    argue = chat(("customer", "Where is my parcel?"), ("agent", "That's not correct, you are wrong about that."))
    assert "dodge-check" in {p["prompt"] for p in prompts(run(Engine(layered), dodge))}
    assert "dodge-check" not in {p["prompt"] for p in prompts(run(Engine(layered), argue))}


def test_a_team_entry_that_only_overrides_must_name_an_existing_id(tmp_path: Path) -> None:
    team = tmp_path / "team.yaml"
    team.write_text("entries:\n  - id: no-excusez\n    enabled: false\n")
    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(DEFAULT_DIR, team)
    assert any(re.search(r"team.yaml:2:\d+: entry 'no-excusez': required key 'text'", str(i))
               for i in caught.value.issues)


def test_all_errors_are_reported_at_once(tmp_path: Path) -> None:
    bad = tmp_path / "many.yaml"
    bad.write_text("entries:\n  - id: a\n    on: customer\n    severity: loud\n"
                   "  - id: b\n    on: agent\n    text: hi\n    severity: info\n    when: \"'nope' in cues\"\n")
    with pytest.raises(RuleFileError) as caught:
        load_phrasebook(bad)
    assert len(caught.value.issues) >= 4  # missing text, bad severity, two missing examples, unknown cue


def test_flags_at_the_start_of_an_unless_pattern_stay_its_own(tmp_path: Path) -> None:
    """A cue's unless patterns are joined into one expression; "(?i)" at the start of one
    applies to that one only (Python refuses global flags inside a joined expression)."""
    book = tmp_path / "growl.yaml"
    book.write_text(
        "cues:\n"
        "  growl:\n"
        "    role: customer\n"
        "    about: A written growl.\n"
        "    patterns: ['\\bgrr+\\b']\n"
        "    unless: ['(?i)\\bgrr+eat\\b', '(?a)\\bok\\b']\n"
        "    examples: {match: ['grrr'], no_match: ['grrreat', 'ok grrr']}\n"
        "entries:\n"
        "  - id: growl-back\n"
        "    on: customer\n"
        "    when: \"'growl' in cues\"\n"
        "    text: Ask what is wrong.\n"
        "    severity: info\n"
        "    examples:\n"
        "      fire: [[customer: grrr]]\n"
        "      silent: [[customer: grrreat]]\n")
    loaded = load_phrasebook(book)
    assert [i for i in loaded.cues.check_examples() if "growl" in str(i)] == []
    assert "growl" in {m.cue for m in loaded.cues.detect("grrr. ok", "customer")}  # another sentence
    assert "growl" not in {m.cue for m in loaded.cues.detect("Ok grrr", "customer")}


def test_a_word_boundary_before_nt_is_a_warning_at_its_line(tmp_path: Path) -> None:
    """'\\bn't' never matches in "doesn't" (no boundary between s and n): the cue still loads,
    and `assist check` says where and what to write instead."""
    book = tmp_path / "truth.yaml"
    book.write_text(
        "cues:\n"
        "  doubt-truth:\n"
        "    role: customer\n"
        "    about: Doubts that we tell the truth.\n"
        "    patterns:\n"
        "      - '\\bcomfortable with the truth\\b'\n"
        "      - '\\b(?:not|n''t) (?:\\w+ ){0,3}honest\\b'\n"
        "    examples: {match: ['not comfortable with the truth'], no_match: ['the truth is out there']}\n"
        "entries:\n"
        "  - id: truth-back\n"
        "    on: customer\n"
        "    when: \"'doubt-truth' in cues\"\n"
        "    text: Show them the record.\n"
        "    severity: info\n"
        "    examples:\n"
        "      fire: [[customer: you are not comfortable with the truth]]\n"
        "      silent: [[customer: thanks]]\n")
    loaded = load_phrasebook(book)
    warned = [str(i) for i in loaded.warnings if "n't" in i.message]
    assert warned == [f"{book}:7:9: warning: cue 'doubt-truth': patterns[1] puts \\b right before n't, which then "
                      "never matches after a letter (\"doesn't\", \"isn't\"); write (?:\\bnot|n't)"]
    assert "doubt-truth" in {m.cue for m in loaded.cues.detect("you are not comfortable with the truth", "customer")}


def _same_tree(quick: object, slow: object, path: str = "") -> None:
    """Values, key order and every key's, value's and item's spot, as the round-trip loader has them."""
    assert type(quick) is type(slow) or quick == slow, path
    if isinstance(slow, dict):
        assert isinstance(quick, dict) and list(quick) == list(slow), path
        assert (quick.lc.line, quick.lc.col) == (slow.lc.line, slow.lc.col), path  # type: ignore[attr-defined]
        for key in slow:
            assert quick.lc.key(key) == slow.lc.key(key), f"{path}/{key}"  # type: ignore[attr-defined]
            assert quick.lc.value(key) == slow.lc.value(key), f"{path}/{key}"  # type: ignore[attr-defined]
            _same_tree(quick[key], slow[key], f"{path}/{key}")
    elif isinstance(slow, list):
        assert isinstance(quick, list) and len(quick) == len(slow), path
        assert (quick.lc.line, quick.lc.col) == (slow.lc.line, slow.lc.col), path  # type: ignore[attr-defined]
        for i, item in enumerate(slow):
            assert quick.lc.item(i) == slow.lc.item(i), f"{path}[{i}]"  # type: ignore[attr-defined]
            _same_tree(quick[i], item, f"{path}[{i}]")
    else:
        assert quick == slow, path


@pytest.mark.parametrize("path", [*sorted(DEFAULT_DIR.rglob("*.yaml")), *sorted((HERE / "valid").glob("*.yaml"))],
                         ids=lambda p: p.name)
def test_rule_files_read_quickly_keep_every_spot_of_the_round_trip_loader(path: Path) -> None:
    """Rule files are built from libyaml's nodes (a start-up ten times quicker); what validators
    see must be what ruamel's round-trip loader gives: the same values and the same line and
    column for each key, value and item. A file libyaml reads differently (a '?' in a flow
    list, as in valid/team.yaml) goes to the round-trip loader itself."""
    from ruamel.yaml import YAML

    from assist.yamlsrc import load_yaml

    _same_tree(load_yaml(path), YAML(typ="rt").load(path.read_text(encoding="utf-8")))


@pytest.mark.parametrize("text", ["? [a, b]\n: x\n", "a: &x {b: 1}\nc:\n  <<: *x\n  d: 2\n", "{[1]: 2}\n",
                                  "match: [Is this still under warranty?]\n"])
def test_yaml_the_quick_build_leaves_alone_is_read_by_the_round_trip_loader(text: str) -> None:
    """Lists or mappings as keys, merge keys, and what libyaml reads otherwise than ruamel: read,
    not a crash, and as the round-trip loader reads them."""
    from ruamel.yaml import YAML

    from assist.yamlsrc import load_yaml

    assert load_yaml("t.yaml", text) == YAML(typ="rt").load(text)
