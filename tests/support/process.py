"""A gateway in its own process, as an operator runs it: its output is read as it comes, and
the addresses it serves on are those it logs (ports chosen by the system)."""

from __future__ import annotations

import asyncio
import re
import sys
from collections.abc import Mapping
from dataclasses import dataclass

SERVING = re.compile(r"connector gateway serving gRPC on (\S+) and HTTP on (\S+)")
# Any free port, chosen by the system when the process binds it.
ANY_PORT = {
    "CONNECTOR_GATEWAY_GRPC_ADDRESS": "127.0.0.1:0",
    "CONNECTOR_GATEWAY_HTTP_ADDRESS": "127.0.0.1:0",
}


@dataclass(frozen=True)
class Serving:
    grpc_address: str
    http_address: str


class ProcessOutput:
    """Reads a gateway process's output (stdout with stderr) to its end and keeps every line."""

    def __init__(self, stream: asyncio.StreamReader) -> None:
        self.lines: list[str] = []
        self._serving: asyncio.Future[Serving] = asyncio.get_running_loop().create_future()
        self._reading = asyncio.create_task(self._read(stream))

    @property
    def text(self) -> str:
        return "".join(self.lines)

    async def serving(self, timeout_s: float = 60.0) -> Serving:
        """The addresses the process serves on, once it says so; fails with its output when
        it ends first or says nothing within ``timeout_s``."""
        try:
            async with asyncio.timeout(timeout_s):
                return await asyncio.shield(self._serving)
        except TimeoutError:
            raise AssertionError(
                f"the gateway was not serving within {timeout_s} s:\n{self.text}"
            ) from None

    async def ended(self, timeout_s: float = 30.0) -> str:
        """All the output, once the process has closed it."""
        async with asyncio.timeout(timeout_s):
            await self._reading
        return self.text

    async def _read(self, stream: asyncio.StreamReader) -> None:
        while line := (await stream.readline()).decode("utf-8", "replace"):
            self.lines.append(line)
            found = SERVING.search(line)
            if found and not self._serving.done():
                self._serving.set_result(Serving(found[1], found[2]))
        if not self._serving.done():
            self._serving.set_exception(
                AssertionError(f"the gateway ended before serving:\n{self.text}")
            )


@dataclass(frozen=True)
class GatewayProcess:
    process: asyncio.subprocess.Process
    output: ProcessOutput  # read to its end, so the process never blocks on a full pipe
    grpc_address: str


async def start_gateway_process(*args: str, env: Mapping[str, str]) -> GatewayProcess:
    """Runs ``python *args`` (a gateway) and returns once it serves; kills it if it never
    does. Its output is that of stdout and stderr together."""
    process = await asyncio.create_subprocess_exec(
        sys.executable,
        *args,
        env=dict(env),
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
    )
    assert process.stdout is not None
    output = ProcessOutput(process.stdout)
    try:
        serving = await output.serving()
    except BaseException:
        process.kill()
        await process.wait()
        raise
    return GatewayProcess(process, output, serving.grpc_address)
