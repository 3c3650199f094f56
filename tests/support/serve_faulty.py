"""Runs a real gateway process whose only connector talks to a fault-injecting vendor.

Used by tests that kill the process: ``python -m tests.support.serve_faulty VENDOR_URL
[TIMEOUT_MS]``, with the gateway's settings in the environment as for ``connector-gateway
serve``. ``TIMEOUT_MS`` replaces the connector's per-attempt timeout (2 s).
"""

from __future__ import annotations

import asyncio
import dataclasses
import logging
import sys

from gateway.app import serve
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.http_fake_adapter import FAULTY_METADATA, HttpFakeAdapter


def main() -> None:
    logging.basicConfig(level=logging.INFO, format="%(asctime)s %(levelname)s %(message)s")
    metadata = FAULTY_METADATA
    if len(sys.argv) > 2:
        metadata = dataclasses.replace(metadata, timeout_ms=int(sys.argv[2]))
    adapter = HttpFakeAdapter(sys.argv[1], metadata=metadata)
    asyncio.run(serve(Settings(), connectors=[Connector(adapter, registered=True)]))


if __name__ == "__main__":
    main()
