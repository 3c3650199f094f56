"""``connector-gateway health``: each connector's status as the gateway keeps it."""

from __future__ import annotations

import argparse

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, client_command
from gateway.cli.output import message_dict, print_json, table, vendor


def add_commands(commands: Commands) -> None:
    health = commands.add_parser("health", help="each connector's status")
    health.add_argument("key", nargs="?")
    health.add_argument("--json", action="store_true")
    set_handler(health, client_command(_health))


async def _health(gateway: Gateway, args: argparse.Namespace) -> int:
    reply = await pb_grpc.ConnectorServiceStub(gateway.channel).Health(
        pb.HealthRequest(connector_key=args.key or ""),
        timeout=gateway.timeout,
        metadata=gateway.metadata,
    )
    if args.json:
        print_json(message_dict(reply))
        return 0
    rows = [
        [
            h.connector_key,
            pb.ConnectorStatus.Name(h.status).removeprefix("CONNECTOR_STATUS_").lower(),
            vendor(configured=h.status != pb.CONNECTOR_STATUS_NOT_CONFIGURED, sandbox=h.sandbox),
            h.last_success_at.ToJsonString() if h.HasField("last_success_at") else "-",
            h.last_attempt_at.ToJsonString() if h.HasField("last_attempt_at") else "-",
            h.last_error or "-",
        ]
        for h in reply.connectors
    ]
    headers = ["CONNECTOR", "STATUS", "VENDOR", "LAST SUCCESS", "LAST ATTEMPT", "LAST ERROR"]
    print(table(rows, headers))
    return 0
