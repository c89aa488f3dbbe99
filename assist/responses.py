"""The JSON error body every HTTP endpoint answers with: {"error": "what is wrong"}."""

from __future__ import annotations

from aiohttp import web


def json_error(status: int, message: str) -> web.Response:
    return web.json_response({"error": message}, status=status)
