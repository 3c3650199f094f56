"""Runs the gateway in its own process with the bench connector, until SIGTERM.

    python -m bench.serve_gateway CONFIG

CONFIG is a JSON file: ``{"vendor_url": "http://127.0.0.1:PORT", "settings": {...}}``, the
settings as ``Settings`` takes them. The start-up line names the addresses bound, as for
``connector-gateway serve``.
"""

from __future__ import annotations

import asyncio
import json
import logging
import sys
from pathlib import Path

from bench.vendor_connector import bench_connectors
from gateway.app import serve
from gateway.settings import Settings


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    config = json.loads(Path(sys.argv[1]).read_text(encoding="utf-8"))
    settings = Settings(**config["settings"])
    asyncio.run(serve(settings, connectors=bench_connectors(config["vendor_url"])))


if __name__ == "__main__":
    main()
