"""Running the ``connector-gateway`` CLI as a user would: in its own process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path

from tests.support.gateway import RunningGateway


@dataclass
class Ran:
    returncode: int
    stdout: str
    stderr: str


async def run_cli(*args: str, data_dir: Path, env: Mapping[str, str] | None = None) -> Ran:
    """Runs the CLI without blocking a gateway that runs in the caller's event loop."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        "-m",
        "gateway.cli",
        *args,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.PIPE,
        env={**os.environ, **(env or {}), "CONNECTOR_GATEWAY_DATA_DIR": str(data_dir)},
    )
    out, err = await asyncio.wait_for(process.communicate(), 60)
    assert process.returncode is not None
    return Ran(process.returncode, out.decode(), err.decode())


async def run_cli_at(gw: RunningGateway, *args: str) -> Ran:
    """Runs the CLI against a running gateway as a configured machine would: the gateway's
    address and data directory come from the environment, so the command reads as written."""
    return await run_cli(
        *args,
        data_dir=gw.gateway.settings.data_dir,
        env={"CONNECTOR_GATEWAY_GRPC_ADDRESS": gw.address},
    )
