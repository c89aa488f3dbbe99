"""HMAC-SHA256 request signatures: `sha256=<hex of HMAC(secret, "<timestamp>.<raw body>")>`.

The same scheme as Chatwoot's webhooks; used for REST ingest and outgoing webhooks.
"""

from __future__ import annotations

import hashlib
import hmac


def sign(secret: str, timestamp: str, body: bytes) -> str:
    mac = hmac.new(secret.encode(), timestamp.encode() + b"." + body, hashlib.sha256)
    return "sha256=" + mac.hexdigest()


def check(secret: str, timestamp: str | None, body: bytes, signature: str | None, *, now: float,
          max_age: float) -> str | None:
    """None when the signature is good and fresh, else what is wrong (for a 401 body)."""
    if not timestamp or not signature:
        return "missing X-Assist-Timestamp or X-Assist-Signature header"
    try:
        sent = float(timestamp)
    except ValueError:
        return "X-Assist-Timestamp must be unix seconds"
    if abs(now - sent) > max_age:
        return f"X-Assist-Timestamp is more than {int(max_age)} s away from the server's clock; sign again"
    if not hmac.compare_digest(sign(secret, timestamp, body), signature.strip()):
        return "bad signature: expected sha256=HMAC-SHA256(secret, \"<timestamp>.<raw body>\") in hex"
    return None


def check_custom(secret: str, body: bytes, signature: str | None, timestamp: str | None, *, signed: str,
                 prefix: str, now: float, max_age: float) -> str | None:
    """Another console's HMAC-SHA256 scheme: `prefix + hex(HMAC(secret, signed))`, where
    `signed` is a template over "{timestamp}" and "{body}". None when good."""
    if not signature:
        return "missing signature header"
    if "{timestamp}" in signed:
        if not timestamp:
            return "missing timestamp header"
        try:
            if abs(now - float(timestamp)) > max_age:
                return f"timestamp is more than {int(max_age)} s away from the server's clock"
        except ValueError:
            return "the timestamp header must be unix seconds"
    head, _, tail = signed.partition("{body}")
    message = head.replace("{timestamp}", timestamp or "").encode() + body + \
        tail.replace("{timestamp}", timestamp or "").encode()
    expected = prefix + hmac.new(secret.encode(), message, hashlib.sha256).hexdigest()
    if not hmac.compare_digest(expected, signature.strip()):
        return f"bad signature: expected {prefix}HMAC-SHA256(secret, {signed!r}) in hex"
    return None
