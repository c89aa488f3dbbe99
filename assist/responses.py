"""What every HTTP endpoint answers with on bad input: {"error": "what is wrong"}."""

from __future__ import annotations

import json
from typing import Any

from aiohttp import web


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)


def json_body(body: bytes) -> tuple[Any, web.Response | None]:
    """The parsed body, or the 400 answer that says why it is not JSON."""
    try:
        return json.loads(body), None
    except (ValueError, UnicodeDecodeError) as exc:
        return None, json_error(400, f"the body is not valid JSON: {exc}")
