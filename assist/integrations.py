"""Receivers for other consoles' webhooks (a thin shell over their sans-IO mappings).

`POST /integrations/chatwoot/webhook[?source=NAME]`: Chatwoot's account or API-inbox
webhook. The signature (`X-Chatwoot-Signature: sha256=HMAC(secret, "<timestamp>.<raw
body>")`, Chatwoot 4.12+) is checked with the secret of ingest source NAME (default
`chatwoot`), which is the secret Chatwoot shows for the webhook. Events we do not use
are answered 200 with the reason, so Chatwoot never retries them; only a bad
signature (401), a bad body (400) or a store that cannot write (503) are errors.
"""

from __future__ import annotations

import hmac
import logging
import time

from aiohttp import web

from .chatwoot import agent_id, assignment, map_payload
from .live import Hub, store_unavailable
from .mapping import load_mappings
from .pages import page_response
from .responses import json_body, json_error
from .signing import check as check_signature
from .signing import check_custom
from .tokens import make_token

log = logging.getLogger("assist.integrations")



async def chatwoot_webhook(request: web.Request, hub: Hub) -> web.Response:
    settings = hub.settings
    source = request.query.get("source", "chatwoot")
    secret = settings.sources.get(source)
    if secret is None:
        return json_error(401, f"unknown source {source!r}: add it to the ingest sources with Chatwoot's webhook "
                           "secret as its secret (ASSIST_SOURCES=\"chatwoot:SECRET\")")
    body = await request.read()
    if len(body) > settings.limits.max_body_bytes:
        return json_error(413, f"body over {settings.limits.max_body_bytes} bytes")
    stamp, signature = request.headers.get("X-Chatwoot-Timestamp"), request.headers.get("X-Chatwoot-Signature")
    if signature or settings.chatwoot_require_signature:
        problem = check_signature(secret, stamp, body, signature, now=time.time(),
                                  max_age=settings.limits.signature_age)
        if problem:
            hub.metrics.errors.labels("auth").inc()
            return json_error(401, problem.replace("X-Assist-", "X-Chatwoot-"))
    payload, refused = json_body(body)
    if refused is not None:
        return refused
    mapped = map_payload(payload, source)
    delivery = request.headers.get("X-Chatwoot-Delivery", "")
    if not mapped.events:
        log.debug("chatwoot %s ignored: %s", delivery, mapped.ignored)
        return web.json_response({"ignored": mapped.ignored, "results": []})
    events = mapped.events
    cid = mapped.conversation
    if cid and mapped.agent and await hub.owner_agent(cid) != mapped.agent and events[0]["type"] != "start":
        events = [assignment(payload, source, mapped.agent), *events]  # the panel of the assignee gets it
    ingested = await hub.ingest(events, source=source)
    if unavailable := store_unavailable(ingested):
        return json_error(503, unavailable)
    results = [r.to_json() for r in ingested]
    for result in results:
        if not result["ok"]:
            log.warning("chatwoot %s: an event was refused: %s", delivery, result.get("error"))
    return web.json_response({"results": results})


async def chatwoot_token(request: web.Request, hub: Hub) -> web.Response:
    """The Dashboard App trades the app key for the current Chatwoot agent's panel token."""
    key = hub.settings.chatwoot_app_key
    if not key:
        return json_error(403, "the Chatwoot Dashboard App is off: set chatwoot_app_key (ASSIST_CHATWOOT_APP_KEY) "
                           "and register /integrations/chatwoot/app#key=THAT_KEY in Chatwoot")
    try:
        body = await request.json()
    except (ValueError, UnicodeDecodeError):
        return json_error(400, "send JSON {key, agent}")
    given, agent = (body.get("key"), body.get("agent")) if isinstance(body, dict) else (None, None)
    if not isinstance(given, str) or not hmac.compare_digest(given.encode(), key.encode()):
        hub.metrics.errors.labels("auth").inc()
        return json_error(401, "wrong app key: copy it from the server's chatwoot_app_key into the Dashboard App URL")
    if not isinstance(agent, int | str) or isinstance(agent, bool) or not str(agent).isalnum():
        return json_error(400, "'agent' must be the Chatwoot user id")
    token = make_token(hub.settings.secret, agent_id(agent), role="agent", ttl=12 * 3600, now=time.time())
    return web.json_response({"token": token, "agent": agent_id(agent)})


def add_routes(app: web.Application, hub: Hub) -> None:
    mappings, problems = load_mappings(hub.settings.mappings_dir)
    for issue in problems:
        log.error("mapping file refused: %s", issue)

    async def generic(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        mapping = mappings.get(name)
        if mapping is None:
            known = ", ".join(sorted(mappings)) or "none"
            return json_error(404, f"no mapping {name!r} in {hub.settings.mappings_dir}/ (loaded: {known})")
        secret = hub.settings.sources.get(mapping.source)
        body = await request.read()
        if len(body) > hub.settings.limits.max_body_bytes:
            return json_error(413, f"body over {hub.settings.limits.max_body_bytes} bytes")
        if mapping.signature is not None:
            sig = mapping.signature
            if secret is None:
                return json_error(401, f"mapping {name!r} signs with source {mapping.source!r}, which has no secret")
            problem = check_custom(secret, body, request.headers.get(sig["header"]),
                                   request.headers.get(sig.get("timestamp_header", "")),
                                   signed=sig.get("signed", "{body}"), prefix=sig.get("prefix", ""),
                                   now=time.time(), max_age=hub.settings.limits.signature_age)
            if problem:
                hub.metrics.errors.labels("auth").inc()
                return json_error(401, problem)
        payload, refused = json_body(body)
        if refused is not None:
            return refused
        events, skipped = mapping.map(payload)
        ingested = await hub.ingest(events, source=mapping.source) if events else []
        if unavailable := store_unavailable(ingested):
            return json_error(503, unavailable)
        return web.json_response({"results": [r.to_json() for r in ingested], "skipped": skipped})

    app.router.add_post("/integrations/webhook/{name}", generic)

    async def chatwoot(request: web.Request) -> web.Response:
        return await chatwoot_webhook(request, hub)

    async def token(request: web.Request) -> web.Response:
        return await chatwoot_token(request, hub)

    async def dashboard_app(request: web.Request) -> web.Response:
        return page_response("Customer Sense for Chatwoot", "chatwoot-app.js", stylesheet=True,
                             frame_ancestors=hub.settings.frame_ancestors)

    app.router.add_post("/integrations/chatwoot/webhook", chatwoot)
    app.router.add_post("/integrations/chatwoot/token", token)
    app.router.add_get("/integrations/chatwoot/app", dashboard_app)
