"""The bench's own processes: started pinned to a core, read as they print, always stopped."""

from __future__ import annotations

import asyncio
import contextlib
import os
import socket
import sys
import time
from collections import deque
from collections.abc import AsyncIterator, Sequence
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path

import grpc
from grpc_health.v1 import health_pb2, health_pb2_grpc

PROJECT_ROOT = Path(__file__).resolve().parents[1]  # where ``python -m bench.*`` resolves
SERVER_CORE = 0  # every measured server runs alone on this core
LOAD_CORE = 1  # the load generator, the vendor and the profiler share this one
# Fast reconnects while a server is starting, so the first SERVING answer is seen promptly.
_POLL_CHANNEL_OPTIONS = [
    ("grpc.initial_reconnect_backoff_ms", 5),
    ("grpc.min_reconnect_backoff_ms", 5),
    ("grpc.max_reconnect_backoff_ms", 20),
]
_POLL_EVERY_S = 0.005
_KEPT_LINES = 500  # of a process's output: enough to show why it failed


class BenchError(RuntimeError):
    """A bench process failed to start or answer; the message carries its output."""


@dataclass
class Pinned:
    """A running process and everything it printed (stdout and stderr together)."""

    process: asyncio.subprocess.Process
    name: str
    started_at: float  # time.monotonic() just before it was spawned
    lines: deque[str] = field(default_factory=lambda: deque(maxlen=_KEPT_LINES))
    _reader: asyncio.Task[None] | None = None
    _printed: asyncio.Event = field(default_factory=asyncio.Event)  # set on each new line

    @property
    def pid(self) -> int:
        return self.process.pid

    @property
    def output(self) -> str:
        return "".join(list(self.lines)[-40:])

    async def text_after(self, marker: str, timeout_s: float) -> str:
        """What follows ``marker`` on the first line that holds it, once printed."""
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    self._printed.clear()
                    for line in self.lines:
                        if marker in line:
                            return line.split(marker, 1)[1].strip()
                    if self._reader is None or self._reader.done():
                        raise BenchError(f"{self.name} ended before serving:\n{self.output}")
                    await self._printed.wait()
        except TimeoutError:
            raise BenchError(f"{self.name} printed no {marker!r}:\n{self.output}") from None

    async def _read(self) -> None:
        assert self.process.stdout is not None
        while line := await self.process.stdout.readline():
            self.lines.append(line.decode("utf-8", "replace"))
            self._printed.set()
        self._printed.set()  # the output ended: waiters look once more and give up


def python_module(module: str, *args: str) -> list[str]:
    """The command that runs ``module`` with this interpreter (the project's virtualenv)."""
    return [sys.executable, "-m", module, *args]


@asynccontextmanager
async def pinned(name: str, core: int, command: Sequence[str]) -> AsyncIterator[Pinned]:
    """Runs ``command`` on ``core`` only (taskset execs it: the pid is the command's), and
    stops it on leaving: SIGTERM, then SIGKILL if it has not ended within 15 s."""
    started_at = time.monotonic()
    process = await asyncio.create_subprocess_exec(
        "taskset",
        "-c",
        str(core),
        *command,
        stdout=asyncio.subprocess.PIPE,
        stderr=asyncio.subprocess.STDOUT,
        cwd=PROJECT_ROOT,
    )
    running = Pinned(process, name, started_at)
    running._reader = asyncio.create_task(running._read())
    try:
        yield running
    finally:
        await _stop(running)


async def _stop(running: Pinned) -> None:
    process = running.process
    if process.returncode is None:
        process.terminate()
        try:
            async with asyncio.timeout(15):
                await process.wait()
        except TimeoutError:
            process.kill()
            await process.wait()
    if running._reader is not None:
        with contextlib.suppress(asyncio.CancelledError):
            await running._reader


def free_port() -> int:
    """A port the system has free on loopback now (for a server that must be polled from
    its very start, before it could say which port it took)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as probe:
        probe.bind(("127.0.0.1", 0))
        return int(probe.getsockname()[1])


async def seconds_to_serving(
    server: Pinned, address: str, service: str, timeout_s: float = 60.0
) -> float:
    """Polls ``grpc.health.v1.Health/Check`` for ``service`` until it answers SERVING;
    the seconds from the process's spawn to that answer."""
    request = health_pb2.HealthCheckRequest(service=service)
    async with grpc.aio.insecure_channel(address, options=_POLL_CHANNEL_OPTIONS) as channel:
        stub = health_pb2_grpc.HealthStub(channel)
        try:
            async with asyncio.timeout(timeout_s):
                while True:
                    if server.process.returncode is not None:
                        raise BenchError(f"{server.name} ended before serving:\n{server.output}")
                    try:
                        answer = await stub.Check(request, timeout=1.0)
                    except grpc.aio.AioRpcError:
                        answer = None
                    if answer is not None and answer.status == answer.SERVING:
                        return time.monotonic() - server.started_at
                    await asyncio.sleep(_POLL_EVERY_S)
        except TimeoutError:
            raise BenchError(
                f"{server.name} was not SERVING in {timeout_s} s:\n{server.output}"
            ) from None


def pin_this_process(cores: Sequence[int]) -> None:
    """Keeps the load generator off the server's core."""
    os.sched_setaffinity(0, set(cores))
