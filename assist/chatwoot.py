"""Chatwoot's outgoing webhooks as contract events (sans-IO mapping).

Shapes as Chatwoot 4.13 sends them (see ../shared/examples/chatwoot/NOTES.md):

* `conversation_created` -> `start` (the contact, its and the conversation's custom
  attributes, the assignee when there is one) plus the public messages already in it;
* `message_created`: `incoming` -> customer message, `outgoing`/`template` -> agent
  message, private notes ignored;
* `conversation_status_changed` / `conversation_updated` to `resolved` -> `end`;
* `conversation_updated` with a new assignee -> `start` again (updates the agent);
* anything else (contact_*, message_updated, webwidget_triggered, typing, ...) -> ignored.

Conversation ids are `<source>-<display id>` (the `id` Chatwoot sends is the
per-account display id), agent ids `chatwoot-<user id>`. Every mapped event carries an
idempotency `id` built from Chatwoot's ids, so a message seen both inside
`conversation_created` and as its own `message_created` counts once.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

PROFILE_KEYS = {
    "tier": ("tier", "customer_tier", "plan", "segment"),
    "lifetime_value": ("lifetime_value", "ltv", "customer_lifetime_value"),
    "prior_complaints": ("prior_complaints", "complaints"),
    "prior_refunds": ("prior_refunds", "refunds"),
}
CHANNELS = {"Channel::WebWidget": "web", "Channel::Email": "email", "Channel::Whatsapp": "whatsapp",
            "Channel::Api": "api", "Channel::FacebookPage": "facebook", "Channel::Sms": "sms",
            "Channel::TwilioSms": "sms", "Channel::Telegram": "telegram", "Channel::Line": "line",
            "Channel::Instagram": "instagram"}


@dataclass
class Mapped:
    events: list[dict[str, Any]] = field(default_factory=list)
    ignored: str | None = None  # why nothing was mapped
    conversation: str | None = None
    agent: str | None = None    # the assignee Chatwoot names in this payload, as our agent id


def agent_id(user_id: Any) -> str:
    return f"chatwoot-{user_id}"


def to_seconds(value: Any) -> float | None:
    """Chatwoot's timestamps: epoch ints/floats or ISO-8601 strings ("...Z")."""
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value) if value > 0 else None
    if isinstance(value, str) and value:
        try:
            return datetime.fromisoformat(value.replace("Z", "+00:00")).timestamp()
        except ValueError:
            return None
    return None


def _number(value: Any) -> float | None:
    if isinstance(value, bool):
        return None
    if isinstance(value, int | float):
        return float(value)
    if isinstance(value, str):
        try:
            return float(value.replace(",", "").strip())
        except ValueError:
            return None
    return None


def profile(conversation: dict[str, Any]) -> dict[str, Any]:
    """The contract's customer object from the contact and the custom attributes."""
    meta = conversation.get("meta") or {}
    sender = meta.get("sender") or {}
    attributes: dict[str, Any] = {}
    for source in (sender.get("custom_attributes"), conversation.get("custom_attributes")):
        if isinstance(source, dict):
            attributes.update({str(k).lower(): v for k, v in source.items()})
    customer: dict[str, Any] = {}
    if sender.get("id") is not None:
        customer["id"] = str(sender["id"])
    if isinstance(sender.get("name"), str) and sender["name"].strip():
        customer["name"] = sender["name"].strip()[:200]
    for field_name, keys in PROFILE_KEYS.items():
        value = next((attributes[k] for k in keys if k in attributes), None)
        if value is None:
            continue
        if field_name == "tier" and isinstance(value, str) and value.strip():
            customer["tier"] = value.strip().lower()[:40]
        elif field_name != "tier" and (n := _number(value)) is not None and n >= 0:
            customer[field_name] = int(n) if field_name.startswith("prior") else n
    return customer


def _assignee(conversation: dict[str, Any]) -> dict[str, Any] | None:
    assignee = (conversation.get("meta") or {}).get("assignee")
    if isinstance(assignee, dict) and assignee.get("id") is not None and assignee.get("type", "user") == "user":
        return {"id": agent_id(assignee["id"]), **({"name": assignee["name"]} if assignee.get("name") else {})}
    return None


def _start(cid: str, conversation: dict[str, Any], *, key: str) -> dict[str, Any]:
    event: dict[str, Any] = {"conversation": cid, "type": "start", "id": key, "customer": profile(conversation)}
    agent = _assignee(conversation)
    if agent:
        event["agent"] = agent
    channel = CHANNELS.get(str(conversation.get("channel") or ""))
    if channel:
        event["channel"] = channel
    language = (conversation.get("additional_attributes") or {}).get("browser_language")
    if isinstance(language, str) and language:
        event["locale"] = language[:16]
    ts = to_seconds(conversation.get("created_at")) or to_seconds(conversation.get("timestamp"))
    if ts is not None:
        event["ts"] = ts
    return event


def _message(cid: str, message: dict[str, Any]) -> dict[str, Any] | None:
    kind = message.get("message_type")
    kind = {0: "incoming", 1: "outgoing", 2: "activity", 3: "template"}.get(kind, kind) if isinstance(kind, int) else kind
    if message.get("private") or kind not in ("incoming", "outgoing", "template"):
        return None
    text = message.get("content")
    if not isinstance(text, str) or not text.strip():
        return None  # an attachment without text: nothing to read
    event: dict[str, Any] = {"conversation": cid, "type": "message", "id": f"chatwoot-message-{message.get('id')}",
                             "role": "customer" if kind == "incoming" else "agent", "text": text}
    ts = to_seconds(message.get("created_at"))
    if ts is not None:
        event["ts"] = ts
    return event


def _status_of(payload: dict[str, Any]) -> str | None:
    changes = payload.get("changed_attributes")
    if isinstance(changes, list):
        for change in changes:
            if isinstance(change, dict) and isinstance(change.get("status"), dict):
                return str(change["status"].get("current_value"))
    return None


def _assignee_changed(payload: dict[str, Any]) -> bool:
    changes = payload.get("changed_attributes")
    return isinstance(changes, list) and any(isinstance(c, dict) and "assignee_id" in c for c in changes)


def map_payload(payload: Any, source: str) -> Mapped:
    """Contract events for one webhook payload (possibly none, with the reason)."""
    if not isinstance(payload, dict):
        return Mapped(ignored="the body is not a JSON object")
    event = payload.get("event")
    if event in ("message_created",):
        conversation = payload.get("conversation")
        if not isinstance(conversation, dict) or conversation.get("id") is None:
            return Mapped(ignored="message without a conversation")
        cid = f"{source}-{conversation['id']}"
        mapped = _message(cid, payload)
        agent = _assignee(conversation)
        if mapped is None:
            why = "private note" if payload.get("private") else f"{payload.get('message_type')} message without text"
            return Mapped(ignored=why, conversation=cid, agent=agent["id"] if agent else None)
        return Mapped([mapped], conversation=cid, agent=agent["id"] if agent else None)

    if event in ("conversation_created", "conversation_updated", "conversation_status_changed"):
        if payload.get("id") is None:
            return Mapped(ignored="conversation without an id")
        cid = f"{source}-{payload['id']}"
        agent = _assignee(payload)
        out = Mapped(conversation=cid, agent=agent["id"] if agent else None)
        if event == "conversation_created":
            out.events.append(_start(cid, payload, key=f"chatwoot-start-{source}-{payload['id']}"))
            for message in payload.get("messages") or []:
                if isinstance(message, dict) and (m := _message(cid, message)) is not None:
                    out.events.append(m)
            return out
        status = _status_of(payload) or (payload.get("status") if event == "conversation_status_changed" else None)
        if status == "resolved":
            end: dict[str, Any] = {"conversation": cid, "type": "end", "outcome": "resolved",
                                   "id": f"chatwoot-end-{source}-{payload['id']}"}
            out.events.append(end)
            return out
        if event == "conversation_updated" and _assignee_changed(payload) and agent:
            stamp = to_seconds(payload.get("updated_at"))
            out.events.append(_start(cid, payload, key=f"chatwoot-assign-{source}-{payload['id']}-{agent['id']}"))
            if stamp is not None:
                out.events[-1]["ts"] = stamp
            return out
        out.ignored = f"{event} without a change we use"
        return out
    return Mapped(ignored=f"event {event!r} is not used")


def assignment(payload: dict[str, Any], source: str, agent: str) -> dict[str, Any]:
    """A `start` that gives conversation `payload` (or the message's conversation) to `agent`,
    with the customer's profile again (a later `start` replaces it)."""
    conversation = payload.get("conversation") if payload.get("event", "").startswith("message") else payload
    assert isinstance(conversation, dict)
    cid = f"{source}-{conversation['id']}"
    event = _start(cid, conversation, key=f"chatwoot-assign-{source}-{conversation['id']}-{agent}")
    event.pop("ts", None)  # now, not when the conversation was created
    return event
