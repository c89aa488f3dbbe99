"""A small client for console backends: push contract events over REST, signed for you.

    from assist.client import RestClient
    client = RestClient("http://127.0.0.1:8080", source="console", secret="...")
    results = client.send([{"conversation": "c-1", "type": "message", "role": "customer", "text": "hi"}])

Standard library only, so a console backend can vendor it. Each result is the
contract's ack: {"ok": true, "conversation", "event"} or {"ok": false, "error"}.
"""

from __future__ import annotations

import json
import time
import urllib.error
import urllib.request
from typing import Any

from .signing import sign


class ClientError(Exception):
    """The server refused the request as a whole (auth, size, rate, store); `status` says which."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(f"HTTP {status}: {message}")
        self.status = status
        self.message = message


class RestClient:
    def __init__(self, url: str, *, source: str, secret: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.source = source
        self.secret = secret
        self.timeout = timeout

    def send(self, events: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """POST one event or a list; returns one result per event, in order."""
        body = json.dumps(events, ensure_ascii=False).encode()
        stamp = str(int(time.time()))
        request = urllib.request.Request(f"{self.url}/api/v1/events", data=body, method="POST", headers={
            "Content-Type": "application/json", "X-Assist-Source": self.source,
            "X-Assist-Timestamp": stamp, "X-Assist-Signature": sign(self.secret, stamp, body)})
        try:
            with urllib.request.urlopen(request, timeout=self.timeout) as response:
                results: list[dict[str, Any]] = json.loads(response.read())["results"]
                return results
        except urllib.error.HTTPError as exc:
            try:
                message = json.loads(exc.read()).get("error", exc.reason)
            except ValueError:
                message = str(exc.reason)
            raise ClientError(exc.code, message) from None


class SocketIngest:
    """Push events over Socket.IO (`/ingest`): one connection, acks after the durable commit.

        async with SocketIngest("http://127.0.0.1:8080", source="console", secret="...") as ingest:
            results = await ingest.send([{...}, {...}])
    """

    def __init__(self, url: str, *, source: str, secret: str, timeout: float = 10.0) -> None:
        self.url = url.rstrip("/")
        self.source = source
        self.secret = secret
        self.timeout = timeout
        self._client: Any = None

    async def __aenter__(self) -> SocketIngest:
        import socketio

        self._client = socketio.AsyncClient(reconnection=True)
        try:
            await self._client.connect(self.url, namespaces=["/ingest"], transports=["websocket"],
                                       auth={"source": self.source, "secret": self.secret},
                                       wait_timeout=self.timeout)
        except socketio.exceptions.ConnectionError as exc:
            raise ClientError(401, f"cannot connect to {self.url}/ingest: {exc}") from None
        return self

    async def __aexit__(self, *exc: object) -> None:
        if self._client is not None:
            await self._client.disconnect()

    async def send(self, events: dict[str, Any] | list[dict[str, Any]]) -> list[dict[str, Any]]:
        """One result per event, in order, once they are stored."""
        results: list[dict[str, Any]] = await self._client.call("event", events, namespace="/ingest",
                                                                timeout=self.timeout)
        return results
