"""Mapping files for other consoles: loading with file:line errors, mapping, and the
receiver on a real server (the documented example in docs/integrations/helpdesk.yaml)."""

from __future__ import annotations

import json
import shutil
import time
from pathlib import Path
from typing import Any

import aiohttp
import pytest

from assist.errors import RuleFileError
from assist.mapping import load_mapping
from assist.signing import check_custom

from .conftest import ROOT
from .server_helpers import connect_panel, make_settings, running_server, token

EXAMPLE = ROOT / "docs" / "integrations" / "helpdesk.yaml"
SECRET = "helpdesk-shared-secret"


def item(kind: str, **fields: Any) -> dict[str, Any]:
    return {"kind": kind, "uid": f"u-{kind}-{fields.get('n', 0)}", "sent_at": "2026-04-20T16:12:41Z",
            "ticket": {"ref": "T-77", "owner": 12, "customer": {"id": 5, "name": "Ana", "plan": "gold", "ltv": 5200}},
            **{k: v for k, v in fields.items() if k != "n"}}


def test_the_documented_mapping() -> None:
    mapping = load_mapping(EXAMPLE)
    events, skipped = mapping.map([
        item("ticket.opened"),
        item("chat.message", author={"type": "visitor"}, body="where is my order??", n=1),
        item("chat.message", author={"type": "staff"}, body="Let me check.", n=2),
        item("typing"),
        item("chat.message", author={"type": "visitor"}, n=3),
        item("ticket.closed", resolution="solved"),
    ])
    start, customer, agent, end = events
    assert start == {"type": "start", "conversation": "hd-T-77", "id": "u-ticket.opened-0", "ts": 1776701561.0,
                     "customer": {"id": "5", "name": "Ana", "tier": "vip", "lifetime_value": 5200},
                     "agent": {"id": "12"}}
    assert customer["role"] == "customer" and customer["text"] == "where is my order??"
    assert agent["role"] == "agent"
    assert end["outcome"] == "resolved"
    assert skipped == ["item 3: no rule matches it",
                       f"item 4: text not found (mapping helpdesk, {EXAMPLE})"]


def test_a_broken_mapping_names_file_and_line(tmp_path: Path) -> None:
    bad = tmp_path / "bad.yaml"
    bad.write_text("name: bad\nrules:\n  - type: message\n    conversation: a.b\n    role: r\n    txt: body\n"
                   "  - type: explode\n")
    with pytest.raises(RuleFileError) as err:
        load_mapping(bad)
    text = "\n".join(str(i) for i in err.value.issues)
    assert f"{bad}:6" in text and "message has no field 'txt'" in text
    assert "a message rule needs 'text'" in text
    assert "type 'explode'" in text


def test_custom_signature() -> None:
    now = time.time()
    import hashlib
    import hmac

    body = b'{"a":1}'
    good = "sha256=" + hmac.new(b"k", f"{int(now)}.".encode() + body, hashlib.sha256).hexdigest()
    args = {"signed": "{timestamp}.{body}", "prefix": "sha256=", "now": now, "max_age": 300}
    assert check_custom("k", body, good, str(int(now)), **args) is None
    assert "bad signature" in (check_custom("k", body + b" ", good, str(int(now)), **args) or "")
    assert "timestamp" in (check_custom("k", body, good, str(int(now) - 900), **args) or "")


async def test_the_receiver_with_the_documented_mapping(tmp_path: Path) -> None:
    folder = tmp_path / "mappings"
    folder.mkdir()
    shutil.copy(EXAMPLE, folder / "helpdesk.yaml")
    settings = make_settings(tmp_path, sources={"helpdesk": SECRET}, mappings_dir=str(folder))
    async with running_server(settings) as srv, aiohttp.ClientSession() as http:
        panel = await connect_panel(srv.url, token("12"))

        async def post(payload: Any, secret: str = SECRET) -> tuple[int, dict[str, Any]]:
            import hashlib
            import hmac

            body = json.dumps(payload).encode()
            stamp = str(int(time.time()))
            sig = "sha256=" + hmac.new(secret.encode(), stamp.encode() + b"." + body, hashlib.sha256).hexdigest()
            async with http.post(f"{srv.url}/integrations/webhook/helpdesk", data=body,
                                 headers={"X-Helpdesk-Signature": sig, "X-Helpdesk-Time": stamp}) as resp:
                return resp.status, await resp.json()

        status, answer = await post([item("ticket.opened"),
                                     item("chat.message", author={"type": "visitor"}, n=1,
                                          body="This is the third time I write, where is my refund?!!")])
        assert status == 200 and [r["ok"] for r in answer["results"]] == [True, True]
        status, answer = await post(item("chat.message", author={"type": "staff"}, n=2,
                                         body="Unfortunately that's our policy, nothing I can do."))
        assert status == 200
        prompt = await panel.wait_for("prompt", lambda p: p["prompt"] == "no-excuses")
        assert prompt["conversation"] == "hd-T-77"
        status, answer = await post(item("ticket.opened"), secret="wrong")
        assert status == 401 and "bad signature" in answer["error"]
        async with http.post(f"{srv.url}/integrations/webhook/nope", data=b"{}") as resp:
            assert resp.status == 404 and "helpdesk" in (await resp.json())["error"]
        await panel.client.disconnect()
