"""``connector-gateway executions list|get|resolve|reconcile``: the ledger's executions, for
operators."""

from __future__ import annotations

import argparse
import sys

import grpc
from google.protobuf import json_format

from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, operator_command
from gateway.cli.options import add_paging_options, json_object
from gateway.cli.output import message_dict, print_json, print_next_page, print_rpc_error, table


def add_commands(commands: Commands) -> None:
    executions = commands.add_parser("executions", help="executions recorded in the ledger")
    actions = executions.add_subparsers(dest="action", required=True)
    listing = actions.add_parser(
        "list", help="executions, e.g. those whose outcome is unknown and need an operator"
    )
    listing.add_argument(
        "--status",
        choices=["running", "succeeded", "failed", "unknown", "compensated"],
        help="only this status",
    )
    add_paging_options(listing)
    listing.add_argument("--json", action="store_true")
    set_handler(listing, operator_command(_list))
    get = actions.add_parser("get", help="one execution")
    get.add_argument("execution_id")
    set_handler(get, operator_command(_get))
    resolve = actions.add_parser(
        "resolve", help="record what you learned at the vendor about an unknown outcome"
    )
    resolve.add_argument("execution_id")
    resolve.add_argument("--resolution", required=True, choices=["succeeded", "not-acted"])
    resolve.add_argument(
        "--note", required=True, help="how you know; kept with the execution (executions get)"
    )
    resolve.add_argument(
        "--result",
        help="with --resolution succeeded: the vendor's result as a JSON object, as read at the "
        "vendor (required when the operation can be undone: the undo needs the vendor's ids); "
        "repeats of the execution's key replay it",
    )
    resolve.add_argument("--json", action="store_true")
    set_handler(resolve, operator_command(_resolve))
    reconcile = actions.add_parser(
        "reconcile",
        help="ask the vendor about executions whose outcome is unknown and settle them from "
        "its answer; exits 1 if any is still unknown",
    )
    reconcile.add_argument("execution_ids", nargs="*", metavar="execution_id")
    reconcile.add_argument(
        "--connector", help="every unknown execution of this connector (with no ids given)"
    )
    set_handler(reconcile, operator_command(_reconcile))


async def _list(gateway: Gateway, args: argparse.Namespace) -> int:
    wanted = epb.ListExecutionsRequest(
        status=f"EXECUTION_STATUS_{args.status.upper()}" if args.status else None,
        page_size=args.page_size,
        page_token=args.page_token,
    )
    listed = await epb_grpc.ExecutionServiceStub(gateway.channel).ListExecutions(
        wanted, metadata=gateway.metadata, timeout=gateway.timeout
    )
    if args.json:
        print_json(message_dict(listed).get("executions", []), indent=None)
        if listed.next_page_token:  # the list is the output; the token goes beside it
            print(f"more: --page-token {listed.next_page_token}", file=sys.stderr)
        return 0
    rows = [
        [
            e.execution_id,
            f"{e.connector_key}.{e.operation}",
            epb.ExecutionStatus.Name(e.status).removeprefix("EXECUTION_STATUS_").lower(),
            str(e.attempts),
            e.caller,
            e.idempotency_key,
            e.created_at.ToJsonString(),
        ]
        for e in listed.executions
    ]
    headers = ["EXECUTION", "OPERATION", "STATUS", "ATTEMPTS", "CALLER", "IDEMPOTENCY KEY"]
    print(table(rows, [*headers, "CREATED"]))
    print_next_page(listed.next_page_token)
    return 0


async def _get(gateway: Gateway, args: argparse.Namespace) -> int:
    got = await epb_grpc.ExecutionServiceStub(gateway.channel).GetExecution(
        epb.GetExecutionRequest(execution_id=args.execution_id),
        metadata=gateway.metadata,
        timeout=gateway.timeout,
    )
    print_json(message_dict(got.execution))
    return 0


async def _resolve(gateway: Gateway, args: argparse.Namespace) -> int:
    request = epb.ResolveExecutionRequest(
        execution_id=args.execution_id,
        resolution=f"RESOLUTION_{args.resolution.upper().replace('-', '_')}",
        note=args.note,
    )
    if args.result is not None:
        result = json_object(args.result, "--result")
        if result is None:
            return 2
        json_format.ParseDict(result, request.result)
    resolved = await epb_grpc.ExecutionServiceStub(gateway.channel).ResolveExecution(
        request, metadata=gateway.metadata, timeout=gateway.timeout
    )
    if args.json:
        print_json(message_dict(resolved.execution))
        return 0
    status = epb.ExecutionStatus.Name(resolved.execution.status).removeprefix("EXECUTION_STATUS_")
    print(f"resolved {resolved.execution.execution_id}: {status.lower()}")
    return 0


async def _reconcile(gateway: Gateway, args: argparse.Namespace) -> int:
    if bool(args.execution_ids) == bool(args.connector):
        print("error: give execution ids, or --connector, not both", file=sys.stderr)
        return 2
    stub = epb_grpc.ExecutionServiceStub(gateway.channel)
    ids = list(args.execution_ids) or await _unknown_of(gateway, args.connector)
    if not ids:
        print(f"no execution of {args.connector} has an unknown outcome")
        return 0
    still_unknown = 0
    for execution_id in ids:
        try:
            answer = await stub.ReconcileExecution(
                epb.ReconcileExecutionRequest(execution_id=execution_id),
                metadata=gateway.metadata,
                timeout=gateway.timeout,
            )
        except grpc.aio.AioRpcError as error:
            still_unknown += 1
            print_rpc_error(error)
            print(f"{execution_id}: still unknown", file=sys.stderr)
            continue
        status = epb.ExecutionStatus.Name(answer.execution.status)
        how = "the vendor acted" if answer.found else "the vendor did not act"
        print(f"{execution_id}: {status.removeprefix('EXECUTION_STATUS_').lower()} ({how})")
    return 1 if still_unknown else 0


async def _unknown_of(gateway: Gateway, connector: str) -> list[str]:
    """Every unknown execution of ``connector``, through all pages."""
    stub = epb_grpc.ExecutionServiceStub(gateway.channel)
    ids: list[str] = []
    token = ""
    while True:
        listed = await stub.ListExecutions(
            epb.ListExecutionsRequest(
                status=epb.EXECUTION_STATUS_UNKNOWN, page_size=1000, page_token=token
            ),
            metadata=gateway.metadata,
            timeout=gateway.timeout,
        )
        ids += [e.execution_id for e in listed.executions if e.connector_key == connector]
        token = listed.next_page_token
        if not token:
            return ids
