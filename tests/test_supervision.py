"""Supervisor tools: hot reload, refused edits, audit, shadow mode, the editor's calls,
backtest and prompt effectiveness. Real servers on loopback, real files, real SQLite."""

from __future__ import annotations

import asyncio
import json
import shutil
import sqlite3
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assist import load_phrasebook
from assist.backtest import backtest, group_by_conversation
from assist.cli import main
from assist.effectiveness import bootstrap_difference, effectiveness, mood_change
from assist.entry_text import EntryTextError, entry_text, replace_entry, spans
from assist.phrasebook import DEFAULT_DIR

from .conftest import DATA
from .server_helpers import connect_ingest, connect_panel, make_settings, running_server, token

NEW_TEXT = "Drop the policy talk and say what you will do for them."


def copy_phrasebooks(tmp: Path) -> Path:
    target = tmp / "phrasebooks"
    shutil.copytree(DEFAULT_DIR, target)
    return target


def edit_entry(folder: Path, entry_id: str, change: Any) -> None:
    path = folder / "default.yaml"
    text = path.read_text()
    snippet, _ = entry_text(text, entry_id)
    path.write_text(replace_entry(text, entry_id, change(snippet)))


async def wait_until(check: Any, timeout: float = 6.0) -> float:
    started = time.monotonic()
    while time.monotonic() - started < timeout:
        if check():
            return time.monotonic() - started
        await asyncio.sleep(0.02)
    raise AssertionError(f"not within {timeout} s")


def excuse_chat(cid: str, agent: str = "rita", *, ts: float | None = None) -> list[dict[str, Any]]:
    now = time.time() if ts is None else ts
    return [{"conversation": cid, "type": "start", "ts": now, "agent": {"id": agent}},
            {"conversation": cid, "type": "message", "role": "customer", "ts": now,
             "text": "My parcel never arrived and nobody answers."},
            {"conversation": cid, "type": "message", "role": "agent", "ts": now,
             "text": "Unfortunately that's our policy, nothing I can do."}]


async def test_a_good_edit_goes_live_without_dropping_a_panel_or_a_timer(tmp_path: Path) -> None:
    books = copy_phrasebooks(tmp_path)
    settings = make_settings(tmp_path, phrasebooks=(str(books),))
    async with running_server(settings, load_phrasebook(books)) as srv:
        panel = await connect_panel(srv.url, token("rita"))
        sid = panel.client.get_sid("/agent")
        ingest = await connect_ingest(srv.url)
        now = time.time()
        # a customer left on "one moment" 57 s ago: the hold-update timer is due in ~3 s
        await ingest.call("event", [
            {"conversation": "held", "type": "start", "ts": now - 57, "agent": {"id": "rita"}},
            {"conversation": "held", "type": "message", "role": "customer", "ts": now - 57,
             "text": "Can you check my refund?"},
            {"conversation": "held", "type": "message", "role": "agent", "ts": now - 57,
             "text": "Sure, one moment please."}], namespace="/ingest")
        before = srv.hub.phrasebook.fingerprint
        edit_entry(books, "no-excuses", lambda s: s.replace(
            "Skip the excuse. The customer wants it solved, not the rule or whose fault it was:\n  say what you can do.",
            NEW_TEXT))
        await wait_until(lambda: srv.hub.phrasebook.fingerprint != before, timeout=60)  # how fast: bench, not here
        await ingest.call("event", excuse_chat("after"), namespace="/ingest")
        prompt = await panel.wait_for("prompt", lambda p: p["conversation"] == "after" and p["prompt"] == "no-excuses")
        assert prompt["text"] == NEW_TEXT
        await panel.wait_for("prompt", lambda p: p["conversation"] == "held" and p["prompt"] == "hold-update",
                             timeout=20)
        assert panel.client.connected and panel.client.get_sid("/agent") == sid
        rows = sqlite3.connect(settings.db).execute(
            "SELECT fingerprint, who, diff FROM phrasebook_versions").fetchall()
        assert len(rows) == 1 and rows[0][1] == "file"
        diff = rows[0][2].splitlines()
        assert any(line.startswith("+") and NEW_TEXT in line for line in diff)
        assert any(line.startswith("-") and "Skip the excuse" in line for line in diff)
        await ingest.disconnect()
        await panel.client.disconnect()


async def test_a_broken_edit_is_refused_and_the_last_good_stays(tmp_path: Path) -> None:
    books = copy_phrasebooks(tmp_path)
    settings = make_settings(tmp_path, phrasebooks=(str(books),))
    async with running_server(settings, load_phrasebook(books)) as srv:
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        good = srv.hub.phrasebook.fingerprint
        original = (books / "default.yaml").read_text()
        edit_entry(books, "no-excuses", lambda s: s.replace("'policy-excuse' in cues", "'policy-excuses' in cues"))
        status = await boss.wait_for("phrasebook", lambda s: not s["ok"], timeout=20)
        assert srv.hub.phrasebook.fingerprint == good
        issue = status["issues"][0]
        assert issue["file"].endswith("default.yaml") and isinstance(issue["line"], int)
        assert "policy-excuses" in issue["message"] and "did you mean" in issue["message"]
        async with aiohttp.ClientSession() as http, http.get(f"{srv.url}/metrics") as resp:
            metrics = await resp.text()
        assert "assist_phrasebook_load_errors 1.0" in metrics
        assert 'assist_phrasebook_reloads_total{result="refused"}' in metrics
        # the old rules still work
        ingest = await connect_ingest(srv.url)
        acks = await ingest.call("event", excuse_chat("still"), namespace="/ingest")
        assert all(a["ok"] for a in acks)
        # fixing the file recovers
        (books / "default.yaml").write_text(original + "\n# fixed\n")
        await boss.wait_for("phrasebook", lambda s: s["ok"] and s["fingerprint"] != good, timeout=20)
        await ingest.disconnect()
        await boss.client.disconnect()


async def test_shadow_entries_are_stored_but_never_reach_a_panel(tmp_path: Path) -> None:
    books = copy_phrasebooks(tmp_path)
    edit_entry(books, "no-excuses", lambda s: s.replace("severity: warn", "severity: warn\nmode: shadow", 1))
    book = load_phrasebook(books)
    assert book.entry("no-excuses").mode == "shadow"
    settings = make_settings(tmp_path, phrasebooks=(str(books),))
    async with running_server(settings, book) as srv:
        panel = await connect_panel(srv.url, token("rita"))
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        ingest = await connect_ingest(srv.url)
        await ingest.call("event", excuse_chat("sh"), namespace="/ingest")
        await panel.wait_for("turn", lambda t: t["conversation"] == "sh" and t["role"] == "agent")
        await asyncio.sleep(0.3)
        assert not [p for p in panel.of("prompt") + boss.of("prompt") if p["prompt"] == "no-excuses"]
        rows = sqlite3.connect(settings.db).execute(
            "SELECT prompt, shadow FROM prompts WHERE conversation = 'sh' AND prompt = 'no-excuses'").fetchall()
        assert rows == [("no-excuses", 1)]
        # the snapshot after a reconnect does not show it either
        snap = await panel.client.call("snapshot", namespace="/agent")
        shown = [p["prompt"] for c in snap["conversations"] for p in c["prompts"]]
        assert "no-excuses" not in shown
        for client in (ingest, panel.client, boss.client):
            await client.disconnect()


async def test_editor_checks_backtests_and_saves_an_entry(tmp_path: Path) -> None:
    books = copy_phrasebooks(tmp_path)
    settings = make_settings(tmp_path, phrasebooks=(str(books),), watch_phrasebooks=False)
    async with running_server(settings, load_phrasebook(books)) as srv:
        ingest = await connect_ingest(srv.url)
        for n in range(3):
            await ingest.call("event", excuse_chat(f"bt{n}"), namespace="/ingest")
        boss = await connect_panel(srv.url, token("boss", "supervisor"), "/supervisor")
        sup = boss.client
        listing = await sup.call("phrasebook", namespace="/supervisor")
        entry = next(e for e in listing["entries"] if e["id"] == "no-excuses")
        got = await sup.call("entry", {"file": entry["file"], "id": "no-excuses"}, namespace="/supervisor")
        assert got["yaml"].startswith("id: no-excuses\n")
        # a typo in a cue id: refused with the line inside the entry
        bad = got["yaml"].replace("'blame-system' in cues", "'blame-sytem' in cues")
        check = await sup.call("check", {"file": entry["file"], "id": "no-excuses", "yaml": bad},
                               namespace="/supervisor")
        assert not check["ok"] and check["issues"][0]["entry_line"] == 5  # the when: line
        # an edit whose example no longer fires is refused too
        quiet = got["yaml"].replace("and 'propose-fix' not in cues", "and 'propose-fix' in cues")
        check = await sup.call("check", {"file": entry["file"], "id": "no-excuses", "yaml": quiet},
                               namespace="/supervisor")
        assert not check["ok"] and any("fire example" in i["message"] for i in check["issues"])
        # backtest of an edit that changes nothing on the stored chats (a shorter cooldown)
        bt = await sup.call("backtest", {"file": entry["file"], "id": "no-excuses",
                                         "yaml": got["yaml"].replace("cooldown: 45", "cooldown: 30")},
                            namespace="/supervisor")
        assert bt["ok"] and bt["conversations"] == 3 and bt["changes"] == []
        # save a good edit, in shadow first: the file keeps its comments, the change is live and audited
        shadow = got["yaml"].replace("severity: warn", "severity: warn\nmode: shadow", 1)
        saved = await sup.call("save", {"file": entry["file"], "id": "no-excuses", "yaml": shadow},
                               namespace="/supervisor", timeout=10)
        assert saved["ok"] and saved["changed"]
        text = (books / "default.yaml").read_text()
        assert text.startswith("# Customer Sense: the default phrasebook.") and "mode: shadow" in text
        assert srv.hub.phrasebook.entry("no-excuses").mode == "shadow"
        versions = (await sup.call("phrasebook", namespace="/supervisor"))["versions"]
        assert versions[0]["who"] == "supervisor:boss" and "+    mode: shadow" in versions[0]["diff"]
        await ingest.disconnect()
        await sup.disconnect()


def test_files_without_entries_are_passed_over_unparsed() -> None:
    """The wall lists entries from every phrasebook file; the cue lists and the model
    weights (thousands of lines, no `entries:`) are passed over without a YAML parse,
    which took seconds on them. A file with entries is still parsed and checked."""
    weights = (DEFAULT_DIR / "type-model.yaml").read_text()
    with pytest.raises(EntryTextError, match="no 'entries:' list"):
        spans(weights + "\n  broken: [unclosed\n")  # not parsed, so not reported as broken YAML
    with pytest.raises(EntryTextError, match="not valid YAML"):
        spans("entries:\n  - id: x\n    broken: [unclosed\n")
    assert list(spans((DEFAULT_DIR / "default.yaml").read_text()))[:1] == ["let-them-vent"]


def test_backtest_shows_a_known_change() -> None:
    old = load_phrasebook()
    text = (DEFAULT_DIR / "default.yaml").read_text()
    snippet, _ = entry_text(text, "let-them-vent")
    changed = replace_entry(text, "let-them-vent", snippet.replace("words >= 8", "words >= 14"))
    new = load_phrasebook(texts={old.sources[0]: changed})  # the path as the loader names it
    events = [json.loads(line) for path in sorted((DATA / "conversations" / "dev").glob("*.jsonl"))
              for line in path.read_text().splitlines() if line.strip()]
    result = backtest(old, new, group_by_conversation(events))
    assert result.changes, "a stricter let-them-vent must change something"
    assert {c.prompt for c in result.changes} == {"let-them-vent"}
    removed = [c for c in result.changes if c.kind == "removed"]
    assert removed and all(c.new_event is None for c in removed)
    for c in result.changes:  # the turns shown lead up to where the prompt (now) sits
        at = c.new_event if c.new_event is not None else c.old_event
        assert c.context and c.context[-1]["event"] <= at
    row = next(r for r in result.by_prompt() if r["prompt"] == "let-them-vent")
    assert row["old"] - row["new"] == row["removed"] - row["added"]
    same = backtest(old, old, group_by_conversation(events))
    assert same.changes == []


def test_backtest_cli(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    books = copy_phrasebooks(tmp_path)
    edit_entry(books, "let-them-vent", lambda s: s.replace("words >= 8", "words >= 14"))
    files = [str(p) for p in sorted((DATA / "conversations" / "dev").glob("*.jsonl"))]
    html = tmp_path / "bt.html"
    assert main(["backtest", "--old", str(DEFAULT_DIR), "--new", str(books), *files, "--html", str(html)]) == 0
    out = capsys.readouterr().out
    assert "| let-them-vent |" in out and "removed at event" in out
    assert "<h1>Backtest:" in html.read_text()


def test_backtest_lists_the_mood_calls_a_cue_edit_changes(tmp_path: Path, capsys: pytest.CaptureFixture[str]) -> None:
    books = copy_phrasebooks(tmp_path)
    cues = books / "cues" / "customer.yaml"
    text = cues.read_text()
    burst = '      - "[?\\uff1f]{2,}"\n'  # "??" is no longer a burst of marks
    assert burst in text
    cues.write_text(text.replace(burst, "", 1))
    files = sorted((DATA / "conversations" / "dev").glob("*.jsonl"))
    events = [json.loads(line) for path in files for line in path.read_text().splitlines() if line.strip()]
    labels = {(e["conversation"], n): e.get("mood_label") for cid, evs in group_by_conversation(events).items()
              for n, e in enumerate(evs)}
    result = backtest(load_phrasebook(), load_phrasebook(books), group_by_conversation(events))
    changed = result.mood_changes
    assert changed and any("!!" in m.text or "??" in m.text for m in changed)
    for m in changed:  # a changed call, the label of that very turn, and the verdict against it
        assert m.old.upset != m.new.upset and m.label == labels[m.conversation, m.event]
        assert m.verdict == (None if m.label is None else "fixed" if m.new.upset == (m.label == "upset") else "broken")
    summary = result.mood_summary()
    assert summary["changed"] == len(changed) == summary["to_upset"] + summary["to_calm"]
    assert summary["fixed"] + summary["broken"] == sum(m.label is not None for m in changed)
    assert result.to_json()["moods"] == summary and len(result.to_json()["mood_changes"]) == len(changed)
    assert backtest(load_phrasebook(), load_phrasebook(), group_by_conversation(events)).mood_changes == []

    html = tmp_path / "bt.html"
    args = ["backtest", "--old", str(DEFAULT_DIR), "--new", str(books), *map(str, files), "--html", str(html)]
    assert main(args) == 0
    out = capsys.readouterr().out
    assert (f"Mood calls: {summary['changed']} of {summary['customer_turns']} customer turns changed "
            f"({summary['to_upset']} to upset, {summary['to_calm']} to not upset)") in out
    first = changed[0]
    assert f"- {first.conversation} #{first.event}: upset -> not upset" in out or \
        f"- {first.conversation} #{first.event}: not upset -> upset" in out
    assert f"Mood calls changed ({len(changed)})" in html.read_text()


def test_mood_change_and_bootstrap() -> None:
    turns = [(1, -0.5), (3, 0.2), (5, 0.4), (7, 0.0), (9, 1.0)]
    assert mood_change(turns, 2) == pytest.approx((0.2 + 0.4 + 0.0) / 3 - (-0.5))
    assert mood_change(turns, 0) is None and mood_change(turns, 9) is None
    low, high = bootstrap_difference([0.5, 0.6, 0.55, 0.7], [-0.2, -0.1, -0.3, -0.25])
    assert 0.6 < low < high < 0.95
    assert bootstrap_difference([1.0], [0.0, 0.1]) is None


def test_effectiveness_on_chats_with_known_outcomes() -> None:
    """No-excuses fires at the first excuse and is held back (cooldown) at the second.
    The customer calms down after the first and boils over after the second."""
    conversations: dict[str, list[dict[str, Any]]] = {}
    calm = ["ok thanks, that's great", "Thank you, that is really kind", "Great, perfect, thanks a lot!"]
    angry = ["This is useless and awful!!!", "You are terrible, this is a disgrace!", "Worst service ever, I hate this"]
    for n in range(9):
        cid = f"k{n}"
        conversations[cid] = [
            {"conversation": cid, "type": "start", "ts": 0, "agent": {"id": "a"}},
            {"conversation": cid, "type": "message", "role": "customer", "ts": 1,
             "text": "My parcel never arrived and I want it sorted."},
            {"conversation": cid, "type": "message", "role": "agent", "ts": 2,
             "text": "Unfortunately that's our policy, nothing I can do."},
            {"conversation": cid, "type": "message", "role": "customer", "ts": 3, "text": calm[n % 3]},
            {"conversation": cid, "type": "message", "role": "agent", "ts": 4,
             "text": "As I said, that is our policy."},
            {"conversation": cid, "type": "message", "role": "customer", "ts": 5, "text": angry[n % 3]},
        ]
    book = load_phrasebook()
    from assist.backtest import replay_side

    fired = replay_side(book, conversations).prompts
    prompts = [{"id": f"{cid}:x{i}", "conversation": cid, "prompt": f.prompt, "event": f.event,
                "audience": book.entry(f.prompt).audience, "mode": f.mode}
               for cid, fs in fired.items() for i, f in enumerate(fs)]
    excuses = [p for p in prompts if p["prompt"] == "no-excuses"]
    assert len(excuses) == 9 and {p["event"] for p in excuses} == {2}
    verdicts = [(p["id"], v) for p, v in zip(excuses, ["helpful"] * 6 + ["not-helpful"] * 2 + ["dismissed"],
                                              strict=True)]
    rows = {r.prompt: r for r in effectiveness(book, conversations, prompts, verdicts)}
    s = rows["no-excuses"]
    assert s.fired == 9
    assert s.rate("helpful") == pytest.approx(6 / 9) and s.rate("dismissed") == pytest.approx(1 / 9)
    assert len(s.after_fired) == 9 and len(s.after_held) == 9
    assert s.lift is not None and s.lift > 0.5
    assert s.interval is not None and s.interval[0] > 0
