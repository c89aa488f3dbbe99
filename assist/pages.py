"""The pages and files a browser loads: the panel bundles under /widget/, the /panel
iframe page and (in demo mode) /demo. Every HTML page goes out with a strict
Content-Security-Policy: scripts and styles only from this server, no inline code."""

from __future__ import annotations

import time
from pathlib import Path

import jinja2
from aiohttp import web

from .config import Settings
from .tokens import make_token

TEMPLATES = jinja2.Environment(
    loader=jinja2.FileSystemLoader(Path(__file__).parent / "templates"),
    autoescape=True, undefined=jinja2.StrictUndefined)
DEFAULT_WIDGET_DIR = Path(__file__).resolve().parent.parent / "widget" / "dist"
DEMO_AGENT = "demo-agent"
BUILD_HINT = "the panel is not built: run `npm --prefix widget ci && npm --prefix widget run build` (or .ci/setup)"
CONTENT_TYPES = {".js": "text/javascript; charset=utf-8", ".css": "text/css; charset=utf-8",
                 ".map": "application/json; charset=utf-8", ".txt": "text/plain; charset=utf-8"}


def widget_dir(settings: Settings) -> Path:
    return Path(settings.widget_dir) if settings.widget_dir else DEFAULT_WIDGET_DIR


def csp(frame_ancestors: str) -> str:
    return ("default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; img-src 'self' data:; "
            f"base-uri 'none'; form-action 'none'; frame-ancestors {frame_ancestors}")


def page_response(title: str, script: str, *, frame_ancestors: str, stylesheet: bool = False,
                  data: dict[str, str] | None = None) -> web.Response:
    """One of our pages: a title, one bundle from /widget/, `data-*` attributes on <body>."""
    html = TEMPLATES.get_template("page.html").render(title=title, script=script, stylesheet=stylesheet,
                                                      data=data or {})
    return web.Response(text=html, content_type="text/html", charset="utf-8", headers={
        "Content-Security-Policy": csp(frame_ancestors),
        "X-Content-Type-Options": "nosniff",
        "Referrer-Policy": "no-referrer",
        "Cache-Control": "no-store",
    })


def add_routes(app: web.Application, settings: Settings, *, demo: bool) -> None:
    files = widget_dir(settings)

    async def widget_file(request: web.Request) -> web.Response:
        name = request.match_info["name"]
        path = files / name
        if "/" in name or name.startswith(".") or path.suffix not in CONTENT_TYPES:
            raise web.HTTPNotFound(text=f"no widget file {name!r}")
        try:
            body = path.read_bytes()
        except FileNotFoundError:
            raise web.HTTPNotFound(text=f"no widget file {name!r}; {BUILD_HINT}") from None
        return web.Response(body=body, headers={
            "Content-Type": CONTENT_TYPES[path.suffix], "X-Content-Type-Options": "nosniff",
            "Cache-Control": "no-cache", "Access-Control-Allow-Origin": "*",
            "Cross-Origin-Resource-Policy": "cross-origin"})

    async def panel(request: web.Request) -> web.Response:
        return page_response("Customer Sense panel", "panel-page.js", stylesheet=True,
                             frame_ancestors=settings.frame_ancestors)

    async def supervisor(request: web.Request) -> web.Response:
        return page_response("Customer Sense — supervisor", "wall.js", frame_ancestors="'none'")

    app.router.add_get("/widget/{name}", widget_file)
    app.router.add_get("/panel", panel)
    app.router.add_get("/supervisor", supervisor)
    if demo:
        async def demo_page(request: web.Request) -> web.Response:
            now = time.time()
            token = make_token(settings.secret, DEMO_AGENT, role="agent", ttl=12 * 3600, now=now)
            boss = make_token(settings.secret, "demo-supervisor", role="supervisor", ttl=12 * 3600, now=now)
            return page_response("Customer Sense — live demo", "demo.js", frame_ancestors="'none'",
                                 data={"token": token, "supervisor": boss})

        async def to_demo(request: web.Request) -> web.Response:
            raise web.HTTPFound("/demo")

        app.router.add_get("/demo", demo_page)
        app.router.add_get("/", to_demo)
