"""The board's web page: static files, on the HTTP side's own port.

The page holds no data: its script reads the board's JSON and the approval queue with the
browser's own credentials (the development sign-in cookie, or none), and sends operators'
switches with the CSRF token, so the page adds no way in. It runs no inline script and loads
nothing from elsewhere (its Content-Security-Policy says so), and no other site may frame it.
"""

from __future__ import annotations

from importlib import resources

from aiohttp import web

PAGE_PATH = "/board"
_FILES = {
    PAGE_PATH: ("board.html", "text/html"),
    f"{PAGE_PATH}/board.js": ("board.js", "text/javascript"),
    f"{PAGE_PATH}/board.css": ("board.css", "text/css"),
}
_HEADERS = {
    "Content-Security-Policy": (
        "default-src 'none'; script-src 'self'; style-src 'self'; connect-src 'self'; "
        "img-src 'self'; base-uri 'none'; form-action 'none'; frame-ancestors 'none'"
    ),
    "X-Content-Type-Options": "nosniff",
    "Referrer-Policy": "no-referrer",
    "Cache-Control": "no-cache",
}


def add_page(app: web.Application) -> None:
    """Serves the page and its files (read once, at start)."""
    static = resources.files("gateway.http").joinpath("static")
    for path, (name, content_type) in _FILES.items():
        body = static.joinpath(name).read_bytes()

        async def serve(
            _: web.Request, body: bytes = body, content_type: str = content_type
        ) -> web.Response:
            return web.Response(
                body=body, content_type=content_type, charset="utf-8", headers=_HEADERS
            )

        app.router.add_get(path, serve)
