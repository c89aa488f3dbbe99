"""A real `assist serve` (or `assist demo`) process and a real Chromium, for the browser
tests and for docs/screenshots.py."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import threading
import time
import urllib.error
import urllib.request
from dataclasses import dataclass, field
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

from assist.client import RestClient
from assist.tokens import make_token

from ..server_helpers import SECRET, SOURCE, SOURCE_SECRET, free_port

CHROMIUM = Path("/usr/bin/chromium")
ROOT = Path(__file__).resolve().parents[2]
AXE = ROOT / "widget" / "node_modules" / "axe-core" / "axe.min.js"


STARTUP_LIMIT = 90  # seconds


@dataclass
class ServerProcess:
    """`python -m assist serve|demo` on a free port with a store in `folder`."""

    folder: Path
    command: str = "serve"
    port: int = field(default_factory=free_port)
    extra_env: dict[str, str] = field(default_factory=dict)
    proc: subprocess.Popen[bytes] | None = None

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.port}"

    @property
    def db(self) -> Path:
        return self.folder / "store.sqlite3"

    def start(self) -> ServerProcess:
        env = {**os.environ, "ASSIST_SECRET": SECRET, "ASSIST_SOURCES": f"{SOURCE}:{SOURCE_SECRET}",
               "ASSIST_DB": str(self.db), "ASSIST_PORT": str(self.port), **self.extra_env}
        args = [sys.executable, "-m", "assist", self.command]
        if self.command == "demo":
            args += ["--db", str(self.db), "--port", str(self.port)]
        with open(self.folder / "server.log", "ab") as log:
            self.proc = subprocess.Popen(args, env=env, stdout=log, stderr=subprocess.STDOUT)
        # A liveness bound, not a speed check: on a loaded two-core machine loading the
        # phrasebook alone can take tens of seconds.
        deadline = time.monotonic() + STARTUP_LIMIT
        while time.monotonic() < deadline:
            if self.proc.poll() is not None:
                raise AssertionError(f"server exited: {(self.folder / 'server.log').read_text()[-2000:]}")
            try:
                with urllib.request.urlopen(f"{self.url}/healthz", timeout=1) as resp:
                    if resp.status == 200:
                        return self
            except (urllib.error.URLError, ConnectionError, TimeoutError):
                time.sleep(0.1)
        self.stop(signal.SIGKILL)  # no process left running behind the failed test
        raise AssertionError(f"server did not come up in {STARTUP_LIMIT} s: "
                             f"{(self.folder / 'server.log').read_text()[-2000:]}")

    def stop(self, sig: int = signal.SIGTERM) -> None:
        if self.proc is not None and self.proc.poll() is None:
            self.proc.send_signal(sig)
            try:
                self.proc.wait(10)
            except subprocess.TimeoutExpired:
                self.proc.kill()
                self.proc.wait()
        self.proc = None

    def send(self, *events: dict[str, Any]) -> list[dict[str, Any]]:
        results = RestClient(self.url, source=SOURCE, secret=SOURCE_SECRET).send(list(events))
        assert all(r["ok"] for r in results), results
        return results


def agent_token(agent: str, role: str = "agent") -> str:
    return make_token(SECRET, agent, role=role, ttl=3600, now=time.time())


def start_event(cid: str, agent: str, name: str = "Dana", **customer: Any) -> dict[str, Any]:
    return {"conversation": cid, "type": "start", "customer": {"name": name, **customer}, "agent": {"id": agent}}


def say(cid: str, role: str, text: str) -> dict[str, Any]:
    return {"conversation": cid, "type": "message", "role": role, "text": text}


def host_page(server: str, token: str, *, css: str = "", body: str = "", conversation: str = "",
              ended_keep: float | None = None) -> str:
    """A console page on another origin that embeds the panel with one script tag."""
    extra = f' data-conversation="{conversation}"' if conversation else ""
    if ended_keep is not None:
        extra += f' data-ended-keep="{ended_keep:g}"'
    return f"""<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,"><title>Console</title>
<style>{css}</style></head><body><main><h1>Acme console</h1>{body}</main>
<aside id="side" style="width:320px;height:640px"></aside>
<script src="{server}/widget/customer-sense.js" data-token="{token}" data-target="#side"{extra}></script>
</body></html>"""


class ConsolePages:
    """A stand-in console: another origin (its own port on loopback) serving host pages."""

    def __init__(self) -> None:
        pages: dict[str, str] = {}
        self.pages = pages

        class Handler(BaseHTTPRequestHandler):
            def do_GET(self) -> None:
                body = pages.get(self.path.split("?")[0])
                self.send_response(200 if body is not None else 404)
                self.send_header("Content-Type", "text/html; charset=utf-8")
                self.end_headers()
                self.wfile.write((body or "not found").encode())

            def log_message(self, *args: Any) -> None:
                pass

        self.httpd = ThreadingHTTPServer(("127.0.0.1", 0), Handler)
        self.thread = threading.Thread(target=self.httpd.serve_forever, daemon=True)
        self.thread.start()

    @property
    def origin(self) -> str:
        return f"http://localhost:{self.httpd.server_address[1]}"

    def add(self, path: str, html: str) -> str:
        self.pages[path] = html
        return self.origin + path

    def close(self) -> None:
        self.httpd.shutdown()
        self.httpd.server_close()
