"""The supervisors' Socket.IO namespace (`/supervisor`): the wall and the phrasebook editor.

The wall: every live conversation's summary and risk (pushed as `conversation`),
a conversation's detail on demand, whispers to its agent, acknowledging escalation
alerts. The editor: an entry as YAML text, checked as the supervisor types (load +
the entry's examples), backtested against recent stored conversations, and saved
through the same reload path as a file edit. All heavy work, YAML parsing included,
runs in a thread: the live conversations never wait on an editor.
"""

from __future__ import annotations

import asyncio
import time
from typing import Any

from .backtest import backtest
from .effectiveness import effectiveness
from .entry_text import EntryTextError, entry_text, replace_entry, spans
from .live import SUPERVISORS
from .panels import PanelNamespace
from .reloader import PhrasebookKeeper

MAX_WHISPER = 2000
MAX_ENTRY = 64 * 1024
BACKTEST_CONVERSATIONS = 300
BACKTEST_DAYS = 7


class SupervisorNamespace(PanelNamespace):
    role = "supervisor"
    keeper: PhrasebookKeeper

    def room(self, agent: str) -> str:
        return SUPERVISORS

    async def _send_snapshot(self, sid: str, agent: str) -> None:
        await super()._send_snapshot(sid, agent)
        await self.emit("phrasebook", self.keeper.status(), to=sid, ignore_queue=True)

    async def on_whisper(self, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        cid = data.get("conversation") if isinstance(data, dict) else None
        text = data.get("text") if isinstance(data, dict) else None
        if not isinstance(cid, str) or not isinstance(text, str) or not text.strip():
            return {"ok": False, "error": "whisper needs 'conversation' and a non-empty 'text'"}
        if len(text) > MAX_WHISPER:
            return {"ok": False, "error": f"whisper over {MAX_WHISPER} characters"}
        return await self.hub.whisper(cid, text.strip(), session["agent"])

    # -- the wall ------------------------------------------------------------------------
    async def on_detail(self, sid: str, data: Any) -> dict[str, Any]:
        cid = data.get("conversation") if isinstance(data, dict) else None
        if not isinstance(cid, str):
            return {"ok": False, "error": "'conversation' (a string) is required"}
        detail = await self.hub.detail(cid)
        return {"ok": True, **detail} if detail else {"ok": False, "error": f"no live conversation {cid!r}"}

    async def on_ack(self, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        prompt = data.get("prompt") if isinstance(data, dict) else None
        cid = data.get("conversation") if isinstance(data, dict) else None
        if not isinstance(prompt, str) or not isinstance(cid, str):
            return {"ok": False, "error": "ack needs 'conversation' and 'prompt' (the alert's id)"}
        ack = {"conversation": cid, "prompt": prompt, "by": session["agent"], "ts": self.hub.clock()}
        self.hub.acked[prompt] = ack
        await self.emit("ack", ack, room=SUPERVISORS)
        return {"ok": True}

    async def on_report(self, sid: str, data: Any = None) -> dict[str, Any]:
        since = self.hub.clock() - BACKTEST_DAYS * 86400
        conversations = await self._stored(since, 5000)
        prompts = [p for p in await self.hub.store.prompts_since(since) if p["conversation"] in conversations]
        feedback = [(row[0], row[2]) for row in await self.hub.store.feedback()]
        rows = await asyncio.to_thread(effectiveness, self.hub.phrasebook, conversations, prompts, feedback)
        return {"ok": True, "conversations": len(conversations), "rows": [r.to_json() for r in rows]}

    async def _stored(self, since: float, limit: int) -> dict[str, list[dict[str, Any]]]:
        ids = await self.hub.store.conversation_ids(since, limit)
        return {cid: await self.hub.store.events(cid) for cid in reversed(ids)}

    # -- the editor ------------------------------------------------------------------------
    async def on_phrasebook(self, sid: str, data: Any = None) -> dict[str, Any]:
        """Status, the editable entries (file, id, line) and the latest applied versions."""
        entries = await asyncio.to_thread(_entry_list, dict(self.keeper.texts))
        modes = {e.id: e.mode for e in self.hub.phrasebook.entries}
        for item in entries:
            item["mode"] = modes.get(item["id"], "")
        versions = await self.hub.store.phrasebook_versions(10)
        return {"ok": True, **self.keeper.status(), "entries": entries, "versions": versions}

    async def on_entry(self, sid: str, data: Any) -> dict[str, Any]:
        file, entry_id = (data.get("file"), data.get("id")) if isinstance(data, dict) else (None, None)
        text = self.keeper.texts.get(file) if isinstance(file, str) else None
        if text is None or not isinstance(entry_id, str):
            return {"ok": False, "error": "entry needs 'file' (one of the phrasebook's files) and 'id'"}
        try:
            yaml_text, line = await asyncio.to_thread(entry_text, text, entry_id)
        except EntryTextError as exc:
            return {"ok": False, "error": str(exc)}
        return {"ok": True, "file": file, "id": entry_id, "yaml": yaml_text, "line": line}

    async def _candidate(self, data: Any) -> tuple[str, str, str] | dict[str, Any]:
        """(file, entry id, the whole file's new text) or an error."""
        if not isinstance(data, dict):
            return {"ok": False, "error": "send {file, id, yaml}"}
        file, entry_id, snippet = data.get("file"), data.get("id"), data.get("yaml")
        text = self.keeper.texts.get(file) if isinstance(file, str) else None
        if text is None or not isinstance(file, str) or not isinstance(snippet, str) \
                or not isinstance(entry_id, (str, type(None))):
            return {"ok": False, "error": "send 'file' (one of the phrasebook's files), 'id' and 'yaml'"}
        if len(snippet) > MAX_ENTRY:
            return {"ok": False, "error": f"an entry over {MAX_ENTRY // 1024} KiB"}
        try:
            return file, entry_id or "", await asyncio.to_thread(replace_entry, text, entry_id, snippet)
        except EntryTextError as exc:
            return {"ok": False, "error": str(exc)}

    async def on_check(self, sid: str, data: Any) -> dict[str, Any]:
        """Would this entry text load, and do its examples go the right way? Nothing is written."""
        candidate = await self._candidate(data)
        if isinstance(candidate, dict):
            return candidate
        file, entry_id, text = candidate
        started = time.perf_counter()
        book, issues = await self.keeper.check(file, text)  # loads it and runs every example
        entry = book.entry(entry_id) if book is not None else None
        counts = {"fire": len(entry.fire_examples), "silent": len(entry.silent_examples)} if entry else None
        await asyncio.to_thread(_shift_to_entry, issues, file, text, entry_id)
        return {"ok": book is not None, "issues": issues, "examples": counts,
                "seconds": round(time.perf_counter() - started, 3)}

    async def on_backtest(self, sid: str, data: Any) -> dict[str, Any]:
        """The edit against the live phrasebook over recent stored conversations."""
        candidate = await self._candidate(data)
        if isinstance(candidate, dict):
            return candidate
        file, _, text = candidate
        book, issues = await self.keeper.check(file, text)
        if book is None:
            return {"ok": False, "error": "the entry has errors; fix them first", "issues": issues}
        conversations = await self._stored(self.hub.clock() - BACKTEST_DAYS * 86400, BACKTEST_CONVERSATIONS)
        started = time.perf_counter()
        result = await asyncio.to_thread(backtest, self.hub.phrasebook, book, conversations)
        out = result.to_json()
        out["changes"] = out["changes"][:100]
        out["mood_changes"] = out["mood_changes"][:100]  # an entry edit moves no mood call; a cue file edit may
        return {"ok": True, **out, "seconds": round(time.perf_counter() - started, 3)}

    async def on_save(self, sid: str, data: Any) -> dict[str, Any]:
        session = await self.get_session(sid)
        candidate = await self._candidate(data)
        if isinstance(candidate, dict):
            return candidate
        file, _, text = candidate
        return await self.keeper.save(file, text, who=f"supervisor:{session['agent']}")


def _entry_list(texts: dict[str, str]) -> list[dict[str, Any]]:
    """The editable entries of the phrasebook's files: file, id and 1-based first line."""
    entries: list[dict[str, Any]] = []
    for name, text in texts.items():
        try:
            found = spans(text)
        except EntryTextError:
            continue
        entries.extend({"file": name, "id": entry_id, "line": span.start + 1} for entry_id, span in found.items())
    return entries


def _shift_to_entry(issues: list[dict[str, Any]], file: str, text: str, entry_id: str) -> None:
    """Give each issue in the edited entry a line number inside the editor's text too."""
    try:
        span = spans(text).get(entry_id) if entry_id else None
    except EntryTextError:
        return
    for issue in issues:
        if span is not None and issue.get("file") == file and isinstance(issue.get("line"), int) \
                and span.start < issue["line"] <= span.end:
            issue["entry_line"] = issue["line"] - span.start
