"""The `assist` command as a user runs it: replay, check, token, export, train-mood, train-types."""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path
from typing import Any

import pytest

from assist import load_phrasebook

from .conftest import DATA, ROOT


def assist(*args: str, stdin: str | None = None, cwd: Path = ROOT) -> subprocess.CompletedProcess[str]:
    return subprocess.run([sys.executable, "-m", "assist", *args], capture_output=True, text=True,
                          input=stdin, cwd=cwd, timeout=120)


def test_replay_jsonl_prints_only_contract_records() -> None:
    out = assist("replay", str(DATA / "two-chats.jsonl"), "--jsonl")
    assert out.returncode == 0, out.stderr
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert {r["kind"] for r in records} == {"turn", "prompt"}
    assert sum(r["kind"] == "turn" for r in records) == 8


def test_replay_reads_stdin_and_reports_bad_lines_without_stopping() -> None:
    text = ('{"conversation": "a", "type": "message", "ts": 1, "role": "customer", "text": "hi"}\n'
            "this is not json\n"
            '{"conversation": "a", "type": "message", "ts": 2, "role": "martian", "text": "hi"}\n'
            '{"conversation": "a", "type": "message", "ts": 3, "role": "agent", "text": "hello"}\n')
    out = assist("replay", "-", "--jsonl", stdin=text)
    records = [json.loads(line) for line in out.stdout.splitlines()]
    assert [r["kind"] for r in records] == ["turn", "error", "error", "turn"]
    assert records[1]["line"] == 2 and "not valid JSON" in records[1]["message"]
    assert records[2]["line"] == 3 and records[2]["field"] == "role"


def test_coloured_replay_shows_text_cues_and_prompts() -> None:
    out = assist("replay", str(DATA / "two-chats.jsonl"), "--color", "never")
    assert out.returncode == 0
    assert "Unfortunately our policy" in out.stdout and "no-excuses" in out.stdout and "hold-update" in out.stdout


def test_check_passes_on_the_shipped_phrasebook_and_fails_with_file_and_line(tmp_path: Path) -> None:
    ok = assist("check")
    assert ok.returncode == 0 and ok.stdout.startswith("ok: ")
    bad = tmp_path / "team.yaml"
    bad.write_text("entries:\n  - id: no-excuses\n    when: \"'angy' in cues\"\n")
    out = assist("check", str(ROOT / "phrasebooks"), str(bad))
    assert out.returncode == 1
    assert f"{bad}:3:" in out.stdout or "team.yaml:3:" in out.stdout
    assert "unknown cue 'angy'" in out.stdout


def test_replay_refuses_a_broken_phrasebook_with_the_reason(tmp_path: Path) -> None:
    bad = tmp_path / "broken.yaml"
    bad.write_text("entries: [\n")
    out = assist("replay", str(DATA / "two-chats.jsonl"), "-p", str(bad))
    assert out.returncode == 2 and "YAML syntax error" in out.stderr


def test_token_and_export_share_the_settings(tmp_path: Path) -> None:
    db = tmp_path / "var" / "assist.sqlite3"
    tok = assist("token", "--agent", "a-1", "--db", str(db))
    assert tok.returncode == 0 and tok.stdout.count(".") == 2
    assert (tmp_path / "var" / "secrets.json").exists()
    missing = assist("export", "nope", "--db", str(db))
    assert missing.returncode == 2 and "no store" in missing.stderr


@pytest.mark.parametrize("command, weights, model_of", [
    ("train-mood", "mood-model.yaml", lambda book: book.mood_model),
    ("train-types", "type-model.yaml", lambda book: book.types.model),
])
def test_train_commands_write_weights_the_phrasebook_loads(tmp_path: Path, book_copy: Path, command: str,
                                                           weights: str, model_of: Any) -> None:
    out = book_copy / weights
    sets = DATA / "conversations"
    run = assist(command, str(sets / "dev8"), str(sets / "dev9"), "--min-sets", "2",
                 "--measure", str(sets / "dev10"), "--out", str(out))
    assert run.returncode == 0, run.stderr
    assert "| trained on |" in run.stdout and "| measured only |" in run.stdout
    model = model_of(load_phrasebook(book_copy))
    assert model is not None and model.trained_on["sets"] == ["dev8", "dev9"]
    missing = assist(command, str(tmp_path / "nope"), "--out", str(out))
    assert missing.returncode == 2 and "no such file or directory" in missing.stderr
