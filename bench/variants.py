"""The five things measured side by side: how each server starts and how each call is made.

(a)       a bare grpc.aio server of ConnectorService.Execute with a canned answer;
(a')      the same with one aiohttp GET to the loopback vendor per call;
(b-read)  the gateway, full chain, a class A read through the bench connector;
(b-write) the gateway, full chain, a class A write with a fresh idempotency key per call;
(c)       the vendor called directly by an aiohttp client: no server in between.

(a), (a') and (b-read) receive the very same request, so only the server differs.
"""

from __future__ import annotations

import json
import secrets
import time
import uuid
from collections.abc import AsyncIterator, Callable
from contextlib import AbstractAsyncContextManager, asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import jwt

from bench.echo_server import SERVING_LINE as ECHO_SERVING_LINE
from bench.load import Call
from bench.processes import (
    SERVER_CORE,
    Pinned,
    free_port,
    pinned,
    python_module,
    seconds_to_serving,
)
from bench.vendor_connector import KEY, READ, WRITE
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.methods import CONNECTOR_SERVICE

ISSUER = "https://issuer.bench.invalid"
AUDIENCE = "connector-gateway"
SUBJECT = "bench-agent"
ITEM = "item-1"
CALL_TIMEOUT_S = 10.0
START_TIMEOUT_S = 60.0


@dataclass(frozen=True)
class BenchEnv:
    """What every variant shares: the vendor, a scratch directory and the caller's token."""

    vendor_url: str
    work_dir: Path
    secret_file: Path
    policy_file: Path
    token: str

    @classmethod
    def create(cls, work_dir: Path, vendor_url: str) -> BenchEnv:
        """An HS256 signing secret the gateway trusts, a policy that lets the bench agent
        call the bench connector, and a token that outlasts the run."""
        secret = secrets.token_hex(32).encode()
        secret_file = work_dir / "jwt-secret"
        secret_file.write_bytes(secret)
        policy_file = work_dir / "policy.toml"
        policy_file.write_text(
            f'[callers."jwt:{ISSUER}#{SUBJECT}"]\ntenant = "bench"\nallow = ["{KEY}.*"]\n',
            encoding="utf-8",
        )
        now = int(time.time())
        claims = {"iss": ISSUER, "aud": AUDIENCE, "sub": SUBJECT, "iat": now, "exp": now + 7200}
        token = jwt.encode(claims, secret, algorithm="HS256")
        return cls(vendor_url, work_dir, secret_file, policy_file, token)

    def gateway_config(self, port: int) -> Path:
        """A ``bench.serve_gateway`` config file: the settings below, on an empty database of
        its own."""
        data_dir = self.work_dir / f"gateway-{uuid.uuid4().hex[:8]}"
        config = self.work_dir / f"{data_dir.name}.json"
        settings = self.gateway_settings(port, data_dir)
        config.write_text(
            json.dumps({"vendor_url": self.vendor_url, "settings": settings}), encoding="utf-8"
        )
        return config

    def gateway_settings(self, port: int, data_dir: Path) -> dict[str, Any]:
        """The full chain: enforced bearer tokens, durable audit and idempotency ledger (the
        defaults), spans sampled at 10 % (none exported: no collector is configured)."""
        return {
            "grpc_address": f"127.0.0.1:{port}",
            "http_address": "127.0.0.1:0",
            "data_dir": str(data_dir),
            "trace_sample_ratio": 0.1,
            "auth": {
                "mode": "enforced",
                "policy_file": str(self.policy_file),
                "jwt": {
                    "issuer": ISSUER,
                    "audience": AUDIENCE,
                    "keys": [{"path": str(self.secret_file), "algorithm": "HS256"}],
                },
            },
        }


@dataclass(frozen=True)
class Server:
    """A measured server: its process and how long it took to answer SERVING."""

    process: Pinned
    address: str
    to_serving_s: float


# Makes the calls of one window: given a tag unique to the window, the call for each index.
Calls = Callable[[str], Call]
ServerFactory = Callable[[BenchEnv], AbstractAsyncContextManager[Server | None]]
ClientFactory = Callable[[BenchEnv, Server | None], AbstractAsyncContextManager[Calls]]


@dataclass(frozen=True)
class Variant:
    key: str
    what: str
    server: ServerFactory
    client: ClientFactory


@asynccontextmanager
async def _served(name: str, command: list[str], port: int) -> AsyncIterator[Server]:
    address = f"127.0.0.1:{port}"
    async with pinned(name, SERVER_CORE, command) as process:
        to_serving = await seconds_to_serving(process, address, CONNECTOR_SERVICE)
        yield Server(process, address, to_serving)


def _echo(with_vendor: bool) -> ServerFactory:
    @asynccontextmanager
    async def start(env: BenchEnv) -> AsyncIterator[Server | None]:
        port = free_port()
        args = [str(port), "--vendor", env.vendor_url] if with_vendor else [str(port)]
        command = python_module("bench.echo_server", *args)
        async with _served("a'" if with_vendor else "a", command, port) as server:
            await server.process.text_after(ECHO_SERVING_LINE, START_TIMEOUT_S)
            yield server

    return start


@asynccontextmanager
async def _gateway(env: BenchEnv) -> AsyncIterator[Server | None]:
    """A gateway on an empty database of its own, like a first start."""
    port = free_port()
    command = python_module("bench.serve_gateway", str(env.gateway_config(port)))
    async with _served("gateway", command, port) as server:
        yield server


def read_request() -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key=KEY, operation=READ)
    request.payload.update({"item_id": ITEM})
    return request


def _grpc(write: bool) -> ClientFactory:
    @asynccontextmanager
    async def client(env: BenchEnv, server: Server | None) -> AsyncIterator[Calls]:
        assert server is not None, "a gRPC client needs a server"
        metadata = (("authorization", f"Bearer {env.token}"),)
        template = read_request()
        if write:
            template = pb.ExecuteRequest(connector_key=KEY, operation=WRITE)
            template.payload.update({"item_id": ITEM, "quantity": 1})
        async with grpc.aio.insecure_channel(server.address) as channel:
            stub = pb_grpc.ConnectorServiceStub(channel)

            def calls(tag: str) -> Call:
                async def call(index: int) -> None:
                    request = template
                    if write:  # a fresh key per call: each one is a new action
                        request = pb.ExecuteRequest()
                        request.CopyFrom(template)
                        request.idempotency_key = f"{tag}-{index}"
                    await stub.Execute(request, metadata=metadata, timeout=CALL_TIMEOUT_S)

                return call

            yield calls

    return client


@asynccontextmanager
async def _no_server(env: BenchEnv) -> AsyncIterator[Server | None]:
    yield None


@asynccontextmanager
async def _direct(env: BenchEnv, server: Server | None) -> AsyncIterator[Calls]:
    url = f"{env.vendor_url}/v1/items/{ITEM}"
    timeout = aiohttp.ClientTimeout(total=CALL_TIMEOUT_S)
    async with aiohttp.ClientSession(timeout=timeout) as session:

        def calls(tag: str) -> Call:
            async def call(index: int) -> None:
                async with session.get(url) as answer:
                    answer.raise_for_status()
                    await answer.json()

            return call

        yield calls


VARIANTS: tuple[Variant, ...] = (
    Variant("a", "bare grpc.aio Execute, canned answer", _echo(False), _grpc(False)),
    Variant("a'", "bare grpc.aio Execute + one aiohttp GET", _echo(True), _grpc(False)),
    Variant("b-read", "gateway, class A read, full chain", _gateway, _grpc(False)),
    Variant("b-write", "gateway, class A write, fresh key", _gateway, _grpc(True)),
    Variant("c", "aiohttp client straight to the vendor", _no_server, _direct),
)
