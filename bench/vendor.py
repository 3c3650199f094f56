"""The loopback vendor every variant calls: a small aiohttp JSON API, run in its own process.

    python -m bench.vendor          # prints "bench vendor serving on http://127.0.0.1:PORT"

``GET /v1/items/{id}`` answers a canned item; ``POST /v1/orders`` takes a JSON order with an
``Idempotency-Key`` header and answers the order it "created". It keeps no state, so a long
run costs it no memory, and it logs no access lines, so its own cost stays small.
"""

from __future__ import annotations

import asyncio
import signal

from aiohttp import web

SERVING_LINE = "bench vendor serving on "


async def get_item(request: web.Request) -> web.Response:
    item_id = request.match_info["item_id"]
    return web.json_response({"id": item_id, "name": "Loopback widget", "price_minor": 1250})


async def post_order(request: web.Request) -> web.Response:
    key = request.headers.get("Idempotency-Key")
    if not key:
        return web.json_response(
            {"error": {"code": "missing_idempotency_key", "message": "Idempotency-Key needed"}},
            status=400,
        )
    order = await request.json()
    return web.json_response(
        {"id": f"ord_{key}", "status": "created", "item_id": order.get("item_id")}, status=201
    )


def make_app() -> web.Application:
    app = web.Application()
    app.router.add_get("/v1/items/{item_id}", get_item)
    app.router.add_post("/v1/orders", post_order)
    return app


async def serve() -> None:
    runner = web.AppRunner(make_app(), access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]  # port 0 asked the system for a free one
    print(f"{SERVING_LINE}http://127.0.0.1:{port}", flush=True)
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    await runner.cleanup()


def main() -> None:
    asyncio.run(serve())


if __name__ == "__main__":
    main()
