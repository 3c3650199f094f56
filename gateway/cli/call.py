"""``connector-gateway call``: run one operation through the gateway."""

from __future__ import annotations

import argparse
import uuid

from google.protobuf import json_format

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, client_command
from gateway.cli.options import json_object
from gateway.cli.output import message_dict, print_json


def add_commands(commands: Commands) -> None:
    call = commands.add_parser("call", help="run one operation through the gateway")
    call.add_argument("key", help="connector key, e.g. email")
    call.add_argument("operation", help="operation, e.g. send")
    call.add_argument("--payload", required=True, help="the payload as a JSON object")
    call.add_argument("--idempotency-key", help="default: a new random key")
    call.add_argument("--approval-id")
    call.add_argument("--json", action="store_true")
    set_handler(call, client_command(_call))


async def _call(gateway: Gateway, args: argparse.Namespace) -> int:
    payload = json_object(args.payload, "--payload")
    if payload is None:
        return 2
    request = pb.ExecuteRequest(
        connector_key=args.key,
        operation=args.operation,
        idempotency_key=args.idempotency_key or uuid.uuid4().hex,
        approval_id=args.approval_id or "",
    )
    json_format.ParseDict(payload, request.payload)
    response = await pb_grpc.ConnectorServiceStub(gateway.channel).Execute(
        request, timeout=gateway.timeout, metadata=gateway.metadata
    )
    print_json(message_dict(response), indent=None if args.json else 2)
    return 0
