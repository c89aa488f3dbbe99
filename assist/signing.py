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
