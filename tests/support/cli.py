"""Running the ``connector-gateway`` CLI as a user would: in its own process."""

from __future__ import annotations

import asyncio
import os
import sys
from collections.abc import Mapping
from dataclasses import dataclass
from pathlib import Path


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
