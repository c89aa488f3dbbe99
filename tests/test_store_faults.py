"""Fault drill: the disk under the SQLite store fills up (a small tmpfs), ingest answers
a clear "unavailable" error, nothing acknowledged is lost, and the server carries on
once there is space again."""

from __future__ import annotations

import os
import sqlite3
import subprocess
from collections.abc import Iterator
from pathlib import Path

import pytest

from assist.client import ClientError, RestClient

from .browser.harness import ServerProcess
from .server_helpers import SOURCE, SOURCE_SECRET


@pytest.fixture
def small_disk(tmp_path: Path) -> Iterator[Path]:
    mount = tmp_path / "small"
    mount.mkdir()
    made = subprocess.run(["mount", "-t", "tmpfs", "-o", "size=2m", "tmpfs", str(mount)], capture_output=True)
    if made.returncode != 0:
        pytest.skip(f"cannot mount a tmpfs here ({made.stderr.decode().strip()}); the drill needs root")
    try:
        yield mount
    finally:
        subprocess.run(["umount", "-l", str(mount)], check=False)


def fill(folder: Path) -> Path:
    filler = folder / "filler"
    with open(filler, "wb") as out:
        try:
            while True:
                out.write(b"\0" * 65536)
                out.flush()
                os.fsync(out.fileno())
        except OSError:
            pass
    return filler


def test_a_full_disk_refuses_clearly_loses_nothing_and_recovers(small_disk: Path) -> None:
    server = ServerProcess(small_disk).start()
    client = RestClient(server.url, source=SOURCE, secret=SOURCE_SECRET)
    acked: list[tuple[str, int]] = []
    try:
        results = client.send({"conversation": "d1", "type": "start", "agent": {"id": "rita"}})
        acked += [(r["conversation"], r["event"]) for r in results if r["ok"]]
        filler = fill(small_disk)
        refused = None
        for n in range(400):
            batch = [{"conversation": "d1", "type": "message", "role": "customer", "id": f"m{n}-{k}",
                      "text": f"message {n}-{k} " + "words " * 150} for k in range(10)]
            try:
                results = client.send(batch)
            except ClientError as exc:
                refused = exc
                break
            acked += [(r["conversation"], r["event"]) for r in results if r["ok"]]
        assert refused is not None, "the disk never filled up"
        assert refused.status == 503 and "cannot write" in refused.message
        filler.unlink()  # space is back
        for _ in range(20):
            try:
                results = client.send({"conversation": "d1", "type": "message", "role": "customer",
                                       "id": "after", "text": "back again"})
                break
            except ClientError:
                continue
        assert results[0]["ok"], results
        acked.append((results[0]["conversation"], results[0]["event"]))
    finally:
        server.stop()
    with sqlite3.connect(server.db) as db:
        stored = set(db.execute("SELECT conversation, idx FROM events").fetchall())
    assert set(acked) <= stored
    indexes = sorted(i for c, i in stored if c == "d1")
    assert indexes == list(range(len(indexes)))  # no gap: the refused batch took no index
