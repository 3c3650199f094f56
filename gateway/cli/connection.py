"""Reaching a running gateway: its address, the deadline, and whom the CLI calls as."""

from __future__ import annotations

import argparse
import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TypeAlias

import grpc
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.cli.command import Handler
from gateway.cli.output import print_rpc_error
from gateway.settings import Settings

DEV_OPERATOR = "local-operator"

Metadata: TypeAlias = tuple[tuple[str, str], ...]


@dataclass(frozen=True)
class Gateway:
    """An open channel to the gateway and what every call on it carries."""

    channel: grpc.aio.Channel
    metadata: Metadata
    timeout: float


GatewayAction: TypeAlias = Callable[[Gateway, argparse.Namespace], Awaitable[int]]
"""One command's calls to the gateway; returns the exit status."""


def add_connection_options(parser: argparse.ArgumentParser, settings: Settings) -> None:
    """The options before the command, which every command that calls the gateway reads."""
    parser.add_argument(
        "--address",
        default=settings.grpc_address,
        help="the gateway's gRPC address (default: %(default)s)",
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=30.0,
        help="deadline of each call in seconds (default: %(default)s)",
    )
    parser.add_argument("--token-file", help="a file holding the bearer token (JWT) to call with")
    parser.add_argument(
        "--as",
        dest="as_caller",
        help="development mode only: the caller to act as (default: the development caller; "
        f"for approvals, the development operator {DEV_OPERATOR!r})",
    )


def client_command(action: GatewayAction) -> Handler:
    """A command that calls the gateway as the agent the options name."""
    return _calling(action, default_caller=None)


def operator_command(action: GatewayAction) -> Handler:
    """A command for operators: without credentials, it acts as the development operator."""
    return _calling(action, default_caller=DEV_OPERATOR)


def credentials(args: argparse.Namespace, default_caller: str | None) -> Metadata:
    """A bearer token from --token-file, else (development mode) the caller to act as."""
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        return (("authorization", f"Bearer {token}"),)
    caller = args.as_caller if args.as_caller is not None else default_caller
    return ((DEV_CALLER_HEADER, caller),) if caller else ()


def _calling(action: GatewayAction, *, default_caller: str | None) -> Handler:
    def handle(args: argparse.Namespace, _settings: Settings) -> int:
        return asyncio.run(_over_channel(action, args, default_caller))

    return handle


async def _over_channel(
    action: GatewayAction, args: argparse.Namespace, default_caller: str | None
) -> int:
    """Runs ``action`` on a channel to --address; a gRPC error is printed and exits 1."""
    async with grpc.aio.insecure_channel(
        args.address,
        interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
    ) as channel:
        try:
            gateway = Gateway(channel, credentials(args, default_caller), args.timeout)
            return await action(gateway, args)
        except grpc.aio.AioRpcError as error:
            print_rpc_error(error)
            return 1
