"""Runs a real gateway process whose only connector talks to a fault-injecting vendor.

Used by tests that kill the process: ``python -m tests.support.serve_faulty VENDOR_URL``, with
the gateway's settings in the environment as for ``connector-gateway serve``.
"""

from __future__ import annotations

import asyncio
import logging
import sys

from gateway.app import serve
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.http_fake_adapter import HttpFakeAdapter


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    adapter = HttpFakeAdapter(sys.argv[1])
    asyncio.run(serve(Settings(), connectors=[Connector(adapter, registered=True)]))


if __name__ == "__main__":
    main()
