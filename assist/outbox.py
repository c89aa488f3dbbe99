"""Outgoing webhooks: prompts and escalations POSTed to configured URLs, from a
persistent outbox.

* Which prompts go out is the `webhook_events` setting: `escalation` (supervisor
  prompts such as escalation-risk), `critical` (any critical prompt), `prompts` (every
  live prompt). Shadow and draft prompts never go out.
* The delivery rows are written in the same commit as the prompt itself, so a restart
  loses none; the sender retries failures with exponential backoff
  (`webhook_backoff`, doubling, at most an hour) up to `webhook_attempts` times.
* Each request carries `X-Assist-Delivery` (stable across retries: receivers drop a
  delivery id they have seen), `X-Assist-Timestamp` and `X-Assist-Signature:
  sha256=HMAC(secret, "<timestamp>.<raw body>")`, the scheme of our REST ingest.
"""

from __future__ import annotations

import asyncio
import contextlib
import hashlib
import json
import logging
import time
from collections.abc import Callable, Iterable
from typing import Any

import aiohttp

from .config import Settings
from .metrics import Metrics
from .signing import sign
from .store import Store, StoreUnavailable, WriteBatch

log = logging.getLogger("assist.outbox")
MAX_DELAY = 3600.0
BATCH = 50


def wanted(record: dict[str, Any], events: str) -> str | None:
    """The webhook event name for a prompt record, or None when it does not go out."""
    if record.get("kind") != "prompt" or record.get("draft") or record.get("mode") == "shadow":
        return None
    kinds = {k.strip() for k in events.split(",")}
    if record.get("audience") == "supervisor" and kinds & {"escalation", "critical", "prompts"}:
        return "escalation"
    if "prompts" in kinds or ("critical" in kinds and record.get("severity") == "critical"):
        return "prompt"
    return None


def deliveries(records: Iterable[dict[str, Any]], settings: Settings, now: float) -> list[tuple[str, str, str, float]]:
    """Outbox rows (delivery id, url, body, created) for the records that go out."""
    out = []
    for record in records:
        event = wanted(record, settings.webhook_events)
        if event is None:
            continue
        for url in settings.webhooks:
            delivery = f"{record['id']}@{hashlib.sha256(url.encode()).hexdigest()[:10]}"
            body = json.dumps({"delivery": delivery, "event": event, "record": record}, ensure_ascii=False)
            out.append((delivery, url, body, now))
    return out


class Sender:
    def __init__(self, store: Store, settings: Settings, metrics: Metrics,
                 clock: Callable[[], float] = time.time) -> None:
        self.store = store
        self.settings = settings
        self.metrics = metrics
        self.clock = clock

    async def run(self, poll: float = 0.5) -> None:
        timeout = aiohttp.ClientTimeout(total=10)
        async with aiohttp.ClientSession(timeout=timeout) as http:
            while True:
                with contextlib.suppress(StoreUnavailable):
                    await self.send_due(http)
                await asyncio.sleep(poll)

    async def send_due(self, http: aiohttp.ClientSession) -> int:
        due = await self.store.due_deliveries(self.clock(), BATCH)
        if not due:
            return 0
        outcomes = await asyncio.gather(*(self._post(http, d) for d in due))
        await self.store.write(WriteBatch(deliveries=list(outcomes)))
        return len(due)

    async def _post(self, http: aiohttp.ClientSession, row: dict[str, Any]) -> tuple[str, str, int, float, str]:
        secret = self.settings.webhooks.get(row["url"])
        attempts = row["attempts"] + 1
        if secret is None:  # the URL left the settings: stop trying
            return row["delivery"], "failed", attempts, self.clock(), "the URL is no longer configured"
        stamp = str(int(self.clock()))
        body = row["body"].encode()
        headers = {"Content-Type": "application/json", "X-Assist-Delivery": row["delivery"],
                   "X-Assist-Timestamp": stamp, "X-Assist-Signature": sign(secret, stamp, body)}
        try:
            async with http.post(row["url"], data=body, headers=headers) as resp:
                if 200 <= resp.status < 300:
                    self.metrics.webhooks.labels("sent").inc()
                    return row["delivery"], "sent", attempts, self.clock(), ""
                error = f"HTTP {resp.status}"
        except (aiohttp.ClientError, TimeoutError) as exc:
            error = f"{type(exc).__name__}: {exc}"[:300]
        self.metrics.webhooks.labels("retry").inc()
        if attempts >= self.settings.webhook_attempts:
            log.error("webhook %s to %s failed %d times, giving up: %s", row["delivery"], row["url"], attempts, error)
            return row["delivery"], "failed", attempts, self.clock(), error
        delay = min(MAX_DELAY, self.settings.webhook_backoff * 2 ** (attempts - 1))
        return row["delivery"], "pending", attempts, self.clock() + delay, error
