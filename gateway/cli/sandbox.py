"""``connector-gateway sandbox show``: what a vendor's sandbox received for the tenant."""

from __future__ import annotations

import argparse
import json
from typing import Any

from connectorgateway.v1 import sandbox_service_pb2 as spb
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, operator_command
from gateway.cli.output import message_dict, print_json


def add_commands(commands: Commands) -> None:
    sandbox = commands.add_parser(
        "sandbox", help="what the vendors' sandboxes received (connectors without an account)"
    )
    actions = sandbox.add_subparsers(dest="action", required=True)
    show = actions.add_parser(
        "show", help="what one connector's sandbox received for your tenant, oldest first"
    )
    show.add_argument("key")
    show.add_argument("--json", action="store_true")
    set_handler(show, operator_command(_show))


def whole_numbers(value: Any) -> Any:
    """``value`` with its whole numbers as integers: a record's numbers reach the CLI as
    doubles (a protobuf Struct holds no other), so an amount of 2000 arrives as 2000.0."""
    if isinstance(value, float) and value.is_integer():
        return int(value)
    if isinstance(value, list):
        return [whole_numbers(item) for item in value]
    if isinstance(value, dict):
        return {key: whole_numbers(item) for key, item in value.items()}
    return value


def field_lines(name: str, value: Any) -> list[str]:
    """``name: value``; a text of several lines continues indented, lists are joined."""
    if isinstance(value, list) and all(isinstance(item, str) for item in value):
        value = ", ".join(value)
    text = value if isinstance(value, str) else json.dumps(value, ensure_ascii=False)
    first, *rest = text.split("\n")
    return [f"{name}: {first}".rstrip(), *(f"  {line}".rstrip() for line in rest)]


async def _show(gateway: Gateway, args: argparse.Namespace) -> int:
    shown = await spb_grpc.SandboxServiceStub(gateway.channel).ShowSandbox(
        spb.ShowSandboxRequest(connector_key=args.key),
        timeout=gateway.timeout,
        metadata=gateway.metadata,
    )
    received: list[dict[str, Any]] = whole_numbers(message_dict(shown).get("received", []))
    if args.json:
        print_json(received)
        return 0
    if not received:
        print(f"the {shown.connector_key} sandbox has received nothing for your tenant")
        return 0
    things = "item" if len(received) == 1 else "items"
    print(f"the {shown.connector_key} sandbox received {len(received)} {things}, oldest first:")
    for record in received:
        print()
        for name in sorted(record):
            print("\n".join(field_lines(name, record[name])))
    return 0
