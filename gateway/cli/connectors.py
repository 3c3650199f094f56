"""``connector-gateway connectors list|describe|catalogue|disable|enable``: the connectors'
contracts, and operators' switches."""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.catalogue import catalogue, declared_descriptors, replaced
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, client_command, operator_command
from gateway.cli.output import message_dict, print_json, table, vendor
from gateway.settings import Settings


def add_commands(commands: Commands) -> None:
    connectors = commands.add_parser("connectors", help="list or describe connectors")
    actions = connectors.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every connector's contract")
    listing.add_argument("--json", action="store_true")
    set_handler(listing, client_command(_list))
    describe = actions.add_parser("describe", help="one connector's contract")
    describe.add_argument("key")
    describe.add_argument("--json", action="store_true")
    set_handler(describe, client_command(_describe))
    listed = actions.add_parser(
        "catalogue",
        help="the connectors' contracts as declared, as the README's markdown table "
        "(no gateway needed)",
    )
    listed.add_argument("--write", metavar="FILE", help="replace the table in FILE")
    set_handler(listed, _catalogue)
    disable = actions.add_parser(
        "disable",
        help="refuse a connector's calls for your tenant until it is enabled (operators)",
    )
    disable.add_argument("key")
    disable.add_argument("--reason", required=True, help="why; shown on the board, audited")
    set_handler(disable, operator_command(_disable))
    enable = actions.add_parser("enable", help="let a disabled connector run again (operators)")
    enable.add_argument("key")
    enable.add_argument("--reason", default="", help="why; audited")
    set_handler(enable, operator_command(_enable))


async def _list(gateway: Gateway, args: argparse.Namespace) -> int:
    listed = await pb_grpc.ConnectorServiceStub(gateway.channel).ListConnectors(
        pb.ListConnectorsRequest(), timeout=gateway.timeout, metadata=gateway.metadata
    )
    if args.json:
        print_json(message_dict(listed))
        return 0
    rows = [
        [
            c.key,
            c.display_name,
            c.display_name_ar,
            c.version,
            "yes" if c.configured else "no",
            vendor(configured=c.configured, sandbox=c.sandbox),
            ", ".join(o.name for o in c.operations),
        ]
        for c in listed.connectors
    ]
    headers = ["KEY", "NAME", "NAME (AR)", "VERSION", "CONFIGURED", "VENDOR", "OPERATIONS"]
    print(table(rows, headers))
    return 0


async def _describe(gateway: Gateway, args: argparse.Namespace) -> int:
    described = await pb_grpc.ConnectorServiceStub(gateway.channel).DescribeConnector(
        pb.DescribeConnectorRequest(connector_key=args.key),
        timeout=gateway.timeout,
        metadata=gateway.metadata,
    )
    if args.json:
        print_json(message_dict(described.connector))
        return 0
    c = described.connector
    print(f"{c.key}  {c.display_name} / {c.display_name_ar}  v{c.version}")
    print(f"contract: {c.contract_url}")
    print(
        f"timeout: {c.timeout_ms} ms  retries: {c.retry_policy.max_retries} "
        f"(backoff {list(c.retry_policy.backoff_ms)} ms)  "
        f"classification: {pb.DataClassification.Name(c.data_classification)}"
    )
    rows = [
        [
            o.name,
            pb.PolicyClass.Name(o.policy_class).removeprefix("POLICY_CLASS_"),
            pb.Idempotency.Name(o.idempotency).removeprefix("IDEMPOTENCY_").lower(),
            o.compensation or "-",
            o.description,
        ]
        for o in c.operations
    ]
    print(table(rows, ["OPERATION", "CLASS", "IDEMPOTENCY", "UNDONE BY", "DESCRIPTION"]))
    return 0


def _catalogue(args: argparse.Namespace, _settings: Settings) -> int:
    table = catalogue(declared_descriptors())
    if not args.write:
        print(table)
        return 0
    path = Path(args.write)
    try:
        path.write_text(replaced(path.read_text(encoding="utf-8"), table), encoding="utf-8")
    except (OSError, ValueError) as error:
        print(f"error: {args.write}: {error}", file=sys.stderr)
        return 1
    return 0


async def _disable(gateway: Gateway, args: argparse.Namespace) -> int:
    disabled = await pb_grpc.ConnectorServiceStub(gateway.channel).DisableConnector(
        pb.DisableConnectorRequest(connector_key=args.key, reason=args.reason),
        timeout=gateway.timeout,
        metadata=gateway.metadata,
    )
    print(f"disabled {disabled.connector.connector_key}: its calls are refused until enabled")
    return 0


async def _enable(gateway: Gateway, args: argparse.Namespace) -> int:
    enabled = await pb_grpc.ConnectorServiceStub(gateway.channel).EnableConnector(
        pb.EnableConnectorRequest(connector_key=args.key, reason=args.reason),
        timeout=gateway.timeout,
        metadata=gateway.metadata,
    )
    status = pb.ConnectorStatus.Name(enabled.connector.status)
    print(
        f"enabled {enabled.connector.connector_key}: status "
        f"{status.removeprefix('CONNECTOR_STATUS_').lower()}"
    )
    return 0
