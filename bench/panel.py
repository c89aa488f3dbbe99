"""Time from an event sent to ingest to its prompt card in the panel's DOM, in Chromium.

    .venv/bin/python bench/panel.py [--prompts 300] [--rate 10] [--json]

Method
------
* Customer Sense: a real `assist serve` process (fresh SQLite store). A console page
  on another loopback origin embeds the panel with the script tag (Debian's Chromium,
  headless, via Playwright). A MutationObserver in the page stamps `Date.now()` for
  every prompt card that appears (keyed by its prompt id). For each measured prompt a
  fresh conversation is opened and the customer complains (not timed); then the timed
  event, an agent excuse ("that's our policy"), is POSTed to /api/v1/events (signed).
  Latency = card in the DOM - just before the POST (both on this machine's wall clock).
  At most 5 conversations are open at once (the oldest is ended), as for a real agent,
  and the console selects the new one (`CustomerSense.select`) before the timed event.
  Ended chats leave the panel after 2 s (`data-ended-keep="2"`; default 60 s): at the
  bench's pace a 60 s tail would list hundreds of ended chats, which no agent has.
* Baseline, the same run: a bare python-socketio relay process (AsyncServer on
  aiohttp: POST /relay emits the body to every client) and a page whose bare
  socket.io-client (the same npm package, UMD build) appends one <div> per message.
  Latency = the <div> in the DOM - just before the POST.
* Events are paced at `--rate` per second; p50/p99 and the ratio to the relay are
  printed. The panel's bundle sizes (raw and gzip) are printed too.
"""

from __future__ import annotations

import argparse
import gzip
import json
import statistics
import subprocess
import sys
import tempfile
import time
import urllib.request
from pathlib import Path
from typing import Any

ROOT = Path(__file__).resolve().parent.parent
sys.path.insert(0, str(ROOT))

from playwright.sync_api import Page, sync_playwright  # noqa: E402

from tests.browser.harness import CHROMIUM, ConsolePages, ServerProcess, agent_token, host_page, say, start_event  # noqa: E402
from tests.server_helpers import free_port  # noqa: E402

SIO_UMD = ROOT / "widget" / "node_modules" / "socket.io-client" / "dist" / "socket.io.min.js"
OBSERVER = """() => {
  window.__seen = {};
  const root = document.querySelector('customer-sense-panel').shadowRoot;
  new MutationObserver(() => {
    const now = Date.now();
    for (const card of root.querySelectorAll('.card[data-id]')) {
      const id = card.getAttribute('data-id');
      if (!(id in window.__seen)) window.__seen[id] = now;
    }
  }).observe(root, {childList: true, subtree: true});
  window.__arrived = {};
  CustomerSense.panel.on("prompt", (r) => { if (!(r.id in window.__arrived)) window.__arrived[r.id] = Date.now(); });
}"""


def relay_server(port: int) -> None:
    """The baseline: POST /relay -> emit to every Socket.IO client. Runs in its own process."""
    import socketio
    from aiohttp import web

    sio = socketio.AsyncServer(async_mode="aiohttp", cors_allowed_origins="*")
    app = web.Application()
    sio.attach(app)

    async def relay(request: web.Request) -> web.Response:
        await sio.emit("msg", await request.json())
        return web.json_response({"ok": True})

    async def healthz(request: web.Request) -> web.Response:
        return web.json_response({"ok": True})

    app.router.add_post("/relay", relay)
    app.router.add_get("/healthz", healthz)
    web.run_app(app, host="127.0.0.1", port=port, print=None)


def percentile(values: list[float], q: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(q * (len(ordered) - 1))))]


def summary(values: list[float]) -> dict[str, float]:
    return {"n": len(values), "p50": percentile(values, 0.5), "p99": percentile(values, 0.99),
            "mean": statistics.fmean(values), "max": max(values)}


def wait_for(page: Page, expression: str, arg: Any, timeout: float = 5.0) -> Any:
    page.wait_for_function(expression, arg=arg, timeout=timeout * 1000)
    return page.evaluate(expression, arg)


ARRIVED: list[float] = []


def measure_panel(page: Page, server: ServerProcess, prompts: int, rate: float) -> list[float]:
    page.evaluate(OBSERVER)
    latencies: list[float] = []
    open_chats: list[str] = []
    for n in range(prompts):
        cid = f"bench-{n}"
        server.send(start_event(cid, "bench-agent", f"Customer {n}"),
                    say(cid, "customer", "My order never arrived and nobody answers my emails!"))
        open_chats.append(cid)
        if len(open_chats) > 5:
            server.send({"conversation": open_chats.pop(0), "type": "end", "outcome": "resolved"})
        page.evaluate("(cid) => CustomerSense.select(cid)", cid)  # the agent is on this chat in the console
        page.wait_for_timeout(1000 / rate)
        sent = time.time() * 1000
        server.send(say(cid, "agent", "Unfortunately that's our policy, there is nothing I can do."))
        seen = wait_for(page, "(prefix) => Object.entries(window.__seen).filter(([k]) => k.startsWith(prefix))"
                              ".map(([, v]) => v).sort()[0]", f"{cid}:")
        arrived = page.evaluate("(prefix) => Object.entries(window.__arrived).filter(([k]) => k.startsWith(prefix))"
                                ".map(([, v]) => v).sort()[0]", f"{cid}:")
        latencies.append(seen - sent)
        ARRIVED.append(arrived - sent)
    return latencies


def measure_relay(page: Page, port: int, count: int, rate: float) -> list[float]:
    latencies: list[float] = []
    for n in range(count):
        page.wait_for_timeout(1000 / rate)
        body = json.dumps({"n": n}).encode()
        request = urllib.request.Request(f"http://127.0.0.1:{port}/relay", data=body, method="POST",
                                         headers={"Content-Type": "application/json"})
        sent = time.time() * 1000
        urllib.request.urlopen(request).read()
        seen = wait_for(page, "(n) => window.__seen[n]", n)
        latencies.append(seen - sent)
    return latencies


RELAY_PAGE = """<!doctype html><html lang="en"><head><meta charset="utf-8"><link rel="icon" href="data:,">
<title>relay</title></head><body><main id="out"></main>
<script src="/sio.js"></script>
<script>
  window.__seen = {};
  const out = document.getElementById("out");
  new MutationObserver(() => { const now = Date.now();
    for (const d of out.children) if (!(d.dataset.n in window.__seen)) window.__seen[d.dataset.n] = now; })
    .observe(out, {childList: true});
  const socket = io("http://127.0.0.1:PORT", {transports: ["websocket"]});
  socket.on("connect", () => { window.__connected = true; });
  socket.on("msg", (m) => { const d = document.createElement("div"); d.dataset.n = m.n;
    d.textContent = "message " + m.n; out.append(d); });
</script></body></html>"""


def bundle_sizes() -> dict[str, dict[str, int]]:
    out = {}
    for path in sorted((ROOT / "widget" / "dist").glob("*.js")):
        raw = path.read_bytes()
        out[path.name] = {"bytes": len(raw), "gzip": len(gzip.compress(raw, 9))}
    return out


def main() -> None:
    parser = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    parser.add_argument("--prompts", type=int, default=300)
    parser.add_argument("--rate", type=float, default=10.0, help="measured events per second")
    parser.add_argument("--json", action="store_true")
    parser.add_argument("--relay-server", type=int, help=argparse.SUPPRESS)
    args = parser.parse_args()
    if args.relay_server:
        relay_server(args.relay_server)
        return

    relay_port = free_port()
    relay = subprocess.Popen([sys.executable, __file__, "--relay-server", str(relay_port)])
    console = ConsolePages()
    with tempfile.TemporaryDirectory() as tmp:
        server = ServerProcess(Path(tmp)).start()
        try:
            for _ in range(100):
                try:
                    urllib.request.urlopen(f"http://127.0.0.1:{relay_port}/healthz")
                    break
                except OSError:
                    time.sleep(0.1)
            with sync_playwright() as pw:
                browser = pw.chromium.launch(executable_path=str(CHROMIUM))
                relay_page = browser.new_page()
                console.pages["/sio.js"] = SIO_UMD.read_text()
                relay_page.goto(console.add("/relay", RELAY_PAGE.replace("PORT", str(relay_port))))
                relay_page.wait_for_function("() => window.__connected === true")
                baseline = measure_relay(relay_page, relay_port, args.prompts, args.rate)
                relay_page.close()
                page = browser.new_page()
                page.goto(console.add("/panel", host_page(server.url, agent_token("bench-agent"), ended_keep=2)))
                page.locator("customer-sense-panel [data-connection=online]").wait_for()
                panel = measure_panel(page, server, args.prompts, args.rate)
                browser.close()
        finally:
            server.stop()
            relay.terminate()
            relay.wait()
            console.close()
    result = {"relay_ms": summary(baseline), "panel_ms": summary(panel), "socket_ms": summary(ARRIVED),
              "ratio_p50": summary(panel)["p50"] / summary(baseline)["p50"],
              "ratio_p99": summary(panel)["p99"] / summary(baseline)["p99"],
              "bundles": bundle_sizes(), "prompts": args.prompts, "rate": args.rate}
    if args.json:
        print(json.dumps(result, indent=2))
        return
    print(f"event POSTed -> element in the DOM, {args.prompts} each, {args.rate:g}/s, Chromium headless")
    print(f"{'':30}{'p50 ms':>9}{'p99 ms':>9}{'mean':>9}{'max':>9}")
    for name, key in (("bare Socket.IO relay", "relay_ms"), ("prompt at the panel's socket", "socket_ms"),
                      ("Customer Sense card", "panel_ms")):
        s = result[key]
        print(f"{name:30}{s['p50']:9.1f}{s['p99']:9.1f}{s['mean']:9.1f}{s['max']:9.1f}")
    print(f"ratio to the relay: p50 {result['ratio_p50']:.2f}x, p99 {result['ratio_p99']:.2f}x")
    for name, size in result["bundles"].items():
        print(f"bundle {name}: {size['bytes'] / 1024:.1f} KiB, {size['gzip'] / 1024:.1f} KiB gzip")


if __name__ == "__main__":
    main()
