"""Chatwoot webhooks: the mapping of the sample payloads (shapes from Chatwoot 4.13's own
source, tests/data/chatwoot/NOTES.md) and the receiver end to end on a real server."""

from __future__ import annotations

import json
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assist.chatwoot import map_payload, profile, to_seconds
from assist.signing import sign

from .conftest import DATA
from .server_helpers import connect_panel, make_settings, running_server, token

SAMPLES = DATA / "chatwoot"
SECRET = "Xm4kR8pT2vN9qL6wZ3yB7cHd"  # the worked example's secret in NOTES.md
SCENARIO = ["contact_created", "webwidget_triggered", "conversation_created", "conversation_updated",
            "message_created_private_note", "message_created_outgoing", "message_updated",
            "message_created_incoming", "conversation_status_changed_resolved", "conversation_updated_on_resolve"]


def sample(name: str) -> dict[str, Any]:
    loaded: dict[str, Any] = json.loads((SAMPLES / f"{name}.json").read_text())
    return loaded


def body_of(payload: dict[str, Any]) -> bytes:
    return json.dumps(payload, separators=(",", ":"), ensure_ascii=False).encode()


def test_signature_matches_the_worked_example() -> None:
    body = body_of(sample("message_created_incoming"))
    assert len(body) == 3592
    assert sign(SECRET, "1776701562", body) == \
        "sha256=f321e66ee02a2d843e8f86582925b4916d7c24e645ed6deaa3b403a24cebad63"


def test_mapping_of_each_sample() -> None:
    created = map_payload(sample("conversation_created"), "chatwoot")
    start, first = created.events
    assert start["type"] == "start" and start["conversation"] == "chatwoot-342"
    assert start["customer"] == {"id": "1287", "name": "Priya Raman"} and "agent" not in start
    assert start["channel"] == "web" and start["locale"] == "en" and start["ts"] == 1776701561
    assert first["role"] == "customer" and first["id"] == "chatwoot-message-90211" and "refund" in first["text"]
    incoming = map_payload(sample("message_created_incoming"), "chatwoot").events
    assert incoming == [{**first, "ts": to_seconds("2026-04-20T16:12:41.318Z")}]
    outgoing = map_payload(sample("message_created_outgoing"), "chatwoot")
    assert outgoing.events[0]["role"] == "agent" and outgoing.agent == "chatwoot-7"
    assert map_payload(sample("message_created_private_note"), "chatwoot").ignored == "private note"
    assigned = map_payload(sample("conversation_updated"), "chatwoot").events
    assert assigned[0]["type"] == "start" and assigned[0]["agent"] == {"id": "chatwoot-7", "name": "Marcus Lee"}
    resolved = map_payload(sample("conversation_status_changed_resolved"), "chatwoot").events
    assert resolved == [{"conversation": "chatwoot-342", "type": "end", "outcome": "resolved",
                         "id": "chatwoot-end-chatwoot-342"}]
    assert map_payload(sample("conversation_updated_on_resolve"), "chatwoot").events == resolved
    for ignored in ("contact_created", "message_updated", "webwidget_triggered"):
        assert map_payload(sample(ignored), "chatwoot").events == [], ignored
    assert map_payload([1, 2], "chatwoot").ignored


def test_profile_reads_custom_attributes() -> None:
    conversation = sample("conversation_created")
    conversation["meta"]["sender"]["custom_attributes"] = {"Tier": "VIP", "LTV": "12,400", "prior_complaints": 4}
    conversation["custom_attributes"]["prior_refunds"] = "2"
    assert profile(conversation) == {"id": "1287", "name": "Priya Raman", "tier": "vip", "lifetime_value": 12400.0,
                                     "prior_complaints": 4, "prior_refunds": 2}


async def post(http: aiohttp.ClientSession, url: str, payload: Any, *, secret: str | None = SECRET,
               raw: bytes | None = None) -> tuple[int, dict[str, Any]]:
    body = raw if raw is not None else body_of(payload)
    headers = {"Content-Type": "application/json", "X-Chatwoot-Delivery": "d-1"}
    if secret is not None:
        stamp = str(int(time.time()))
        headers |= {"X-Chatwoot-Timestamp": stamp, "X-Chatwoot-Signature": sign(secret, stamp, body)}
    async with http.post(f"{url}/integrations/chatwoot/webhook", data=body, headers=headers) as resp:
        return resp.status, await resp.json()


async def test_the_samples_end_to_end(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sources={"chatwoot": SECRET})
    async with running_server(settings) as srv, aiohttp.ClientSession() as http:
        marcus = await connect_panel(srv.url, token("chatwoot-7"))
        answers = {}
        for name in SCENARIO:
            status, answer = await post(http, srv.url, sample(name))
            assert status == 200, (name, answer)
            answers[name] = answer
        assert answers["contact_created"]["ignored"] and answers["message_created_private_note"]["ignored"]
        assert answers["message_created_incoming"]["results"][0].get("duplicate")  # came with conversation_created
        hub = srv.hub
        events = await hub.store.events("chatwoot-342")
        kinds = [(e["type"], e.get("role")) for e in events]
        assert kinds == [("start", None), ("message", "customer"), ("start", None), ("message", "agent"),
                         ("end", None)]
        assert events[2]["agent"]["id"] == "chatwoot-7"
        # the assignee's panel got the conversation and its turns after the assignment
        await marcus.wait_for("turn", lambda t: t["conversation"] == "chatwoot-342" and t["role"] == "agent")
        prompts = [p["prompt"] for p in marcus.of("prompt")]
        assert "no-excuses" not in prompts and "dont-argue" not in prompts  # a good reply gets no warnings
        customer_turn = (await hub.store.events("chatwoot-342"))[1]
        assert customer_turn["text"].startswith("Hi, I returned my hiking boots")
        await marcus.client.disconnect()


async def test_the_receiver_refuses_what_it_cannot_trust(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sources={"chatwoot": SECRET})
    async with running_server(settings) as srv, aiohttp.ClientSession() as http:
        status, answer = await post(http, srv.url, sample("conversation_created"), secret="wrong-secret")
        assert status == 401 and "signature" in answer["error"]
        status, answer = await post(http, srv.url, sample("conversation_created"), secret=None)
        assert status == 401 and "X-Chatwoot-Timestamp" in answer["error"]
        status, answer = await post(http, srv.url, None, raw=b"{not json")
        assert status == 400
        status, answer = await post(http, srv.url, {"event": "conversation_typing_on"})
        assert status == 200 and answer["results"] == [] and "not used" in answer["ignored"]
        async with http.post(f"{srv.url}/integrations/chatwoot/webhook?source=nope", data=b"{}") as resp:
            assert resp.status == 401 and "unknown source" in (await resp.json())["error"]
        assert await srv.hub.store.events("chatwoot-342") == []


async def test_unsigned_webhooks_when_allowed(tmp_path: Path) -> None:
    settings = make_settings(tmp_path, sources={"chatwoot": SECRET}, chatwoot_require_signature=False)
    async with running_server(settings) as srv, aiohttp.ClientSession() as http:
        status, answer = await post(http, srv.url, sample("conversation_created"), secret=None)
        assert status == 200 and all(r["ok"] for r in answer["results"])
        status, answer = await post(http, srv.url, sample("message_created_outgoing"), secret="wrong")
        assert status == 401  # a signature that is there is still checked


@pytest.mark.parametrize("value,expected", [(1776701561, 1776701561.0), (0, None), ("2026-04-20T16:12:41.318Z",
                         1776702761.318), ("soon", None), (True, None)])
def test_timestamps(value: Any, expected: float | None) -> None:
    assert to_seconds(value) == (pytest.approx(expected) if expected else None)
