"""The live phrasebook: hot reload, safe saves from the editor, and the audit trail.

* `watch()` follows the phrasebook files (watchfiles) and reloads after an edit.
* A good edit is swapped into the running engine under the hub's lock: no connection
  is dropped, conversations and their timers carry on under the new entries.
* A broken edit is refused: the last good phrasebook stays live, and the problems
  (file, line, what is wrong) are kept for the supervisor page, logged, and counted
  in /metrics.
* `save()` (the supervisor's editor) checks the new text before anything touches the
  disk, writes the file atomically, and goes through the same swap.
* Every applied version is written to the store: when, its fingerprint, who, and a
  unified diff against the version before.
"""

from __future__ import annotations

import asyncio
import difflib
import logging
import os
import time
from collections.abc import Awaitable, Callable
from pathlib import Path
from typing import Any

from .errors import Issue, RuleFileError
from .examples import check_examples
from .heap import resettle
from .live import Hub
from .phrasebook import DEFAULT_DIR, Phrasebook, load_phrasebook
from .store import StoreUnavailable, WriteBatch

log = logging.getLogger("assist.reload")
Listener = Callable[[dict[str, Any]], Awaitable[None]]


def read_texts(files: tuple[str, ...]) -> dict[str, str]:
    out = {}
    for name in files:
        try:
            out[name] = Path(name).read_text(encoding="utf-8")
        except OSError:
            out[name] = ""
    return out


def unified_diff(old: dict[str, str], new: dict[str, str]) -> str:
    parts: list[str] = []
    for name in sorted(set(old) | set(new)):
        a, b = old.get(name, ""), new.get(name, "")
        if a != b:
            parts.extend(difflib.unified_diff(a.splitlines(keepends=True), b.splitlines(keepends=True),
                                              fromfile=f"a/{name}", tofile=f"b/{name}"))
    return "".join(parts)


def load_checked(paths: tuple[str | Path, ...], texts: dict[str, str] | None = None) -> Phrasebook:
    """The phrasebook, refused (RuleFileError) when it does not load or one of its examples fails."""
    book = load_phrasebook(*paths, texts=texts)
    failed, _ = check_examples(book)
    if failed:
        raise RuleFileError(failed)
    return book


def issue_json(issue: Issue) -> dict[str, Any]:
    return {"file": issue.where.file, "line": issue.where.line, "column": issue.where.column,
            "message": issue.message, "severity": issue.severity, "text": str(issue)}


class PhrasebookKeeper:
    def __init__(self, hub: Hub, paths: tuple[str, ...], *, clock: Callable[[], float] = time.time) -> None:
        self.hub = hub
        self.paths: tuple[str | Path, ...] = paths or (DEFAULT_DIR,)
        self.clock = clock
        self.texts = read_texts(self._files(hub.phrasebook))
        self.issues: list[dict[str, Any]] = []
        self.applied_at = clock()
        self.listeners: list[Listener] = []
        self._lock = asyncio.Lock()
        self._stop = asyncio.Event()

    @staticmethod
    def _files(book: Phrasebook) -> tuple[str, ...]:
        return book.sources

    def status(self) -> dict[str, Any]:
        return {"fingerprint": self.hub.phrasebook.fingerprint, "ok": not self.issues, "issues": self.issues,
                "files": list(self.hub.phrasebook.sources), "applied_at": self.applied_at}

    async def _tell(self) -> None:
        status = self.status()
        for listener in self.listeners:
            try:
                await listener(status)
            except Exception:  # a listener's trouble never blocks a reload
                log.exception("phrasebook status listener failed")

    def _refused(self, exc: RuleFileError, who: str) -> dict[str, Any]:
        self.issues = [issue_json(i) for i in exc.issues if i.severity == "error"]
        self.hub.metrics.phrasebook_errors.set(len(self.issues))
        self.hub.metrics.phrasebook_reloads.labels("refused").inc()
        for issue in self.issues:
            log.error("phrasebook edit refused (%s), the last good version stays live: %s", who, issue["text"])
        return {"ok": False, "issues": self.issues, "fingerprint": self.hub.phrasebook.fingerprint}

    async def reload(self, who: str = "file") -> dict[str, Any]:
        """Load the files again; apply when good and changed, else keep the last good."""
        async with self._lock:
            try:
                book = await asyncio.to_thread(load_checked, self.paths)
            except RuleFileError as exc:
                result = self._refused(exc, who)
            else:
                result = await self._apply(book, who)
        await self._tell()
        return result

    async def check(self, path: str, text: str) -> tuple[Phrasebook | None, list[dict[str, Any]]]:
        """What the phrasebook would be with `path` holding `text` (nothing is written)."""
        if path not in self.texts:
            raise ValueError(f"{path!r} is not one of the live phrasebook's files: {', '.join(self.texts)}")
        try:
            book = await asyncio.to_thread(load_checked, self.paths, {path: text})
        except RuleFileError as exc:
            return None, [issue_json(i) for i in exc.issues]
        return book, [issue_json(i) for i in book.warnings]

    async def save(self, path: str, text: str, who: str) -> dict[str, Any]:
        """The editor's save: refused unless the whole phrasebook loads with it."""
        async with self._lock:
            book, issues = await self.check(path, text)
            if book is None:
                return {"ok": False, "issues": issues, "fingerprint": self.hub.phrasebook.fingerprint}
            tmp = Path(f"{path}.saving")
            await asyncio.to_thread(tmp.write_text, text, encoding="utf-8")
            os.replace(tmp, path)
            result = await self._apply(book, who)
        await self._tell()
        return result

    async def _apply(self, book: Phrasebook, who: str) -> dict[str, Any]:
        started = time.perf_counter()
        self.issues = []
        self.hub.metrics.phrasebook_errors.set(0)
        if book.fingerprint == self.hub.phrasebook.fingerprint:
            return {"ok": True, "changed": False, "fingerprint": book.fingerprint}
        new_texts = read_texts(self._files(book))
        diff = unified_diff(self.texts, new_texts)
        await self.hub.use_phrasebook(book)
        resettle()  # the old phrasebook was frozen with the rest: let the collector see it again
        self.texts = new_texts
        self.applied_at = self.clock()
        self.hub.metrics.phrasebook_reloads.labels("applied").inc()
        log.info("phrasebook %s applied (%s), %d entries", book.fingerprint, who, len(book.entries))
        try:
            await self.hub.store.write(WriteBatch(versions=[(self.applied_at, book.fingerprint, who, diff, "")]))
        except StoreUnavailable as exc:  # the swap stands; only its audit line is missing
            log.error("phrasebook %s applied but its audit entry was not stored: %s", book.fingerprint, exc)
        return {"ok": True, "changed": True, "fingerprint": book.fingerprint, "diff": diff,
                "seconds": time.perf_counter() - started}

    async def watch(self) -> None:
        """Reload whenever a YAML file under the phrasebook folders changes."""
        from watchfiles import awatch

        folders = sorted({str(Path(f).resolve().parent) for f in self.texts})
        watched = {str(Path(f).resolve()) for f in self.texts}

        def interesting(change: Any, path: str) -> bool:
            return path in watched or path.endswith((".yaml", ".yml"))

        async for _ in awatch(*folders, watch_filter=interesting, debounce=250, step=50,
                              stop_event=self._stop, recursive=True):
            await self.reload("file")

    def stop(self) -> None:
        self._stop.set()
