"""The ``connector-gateway`` command: run the gateway and talk to it.

Output is a readable table for people; ``--json`` prints JSON for scripts. Errors from the
gateway are printed with their code, reason and metadata, and exit with status 1.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import logging
import sys
import uuid
from collections.abc import Sequence
from pathlib import Path
from typing import Any

import grpc
from google.protobuf import json_format
from google.protobuf.message import Message
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from opentelemetry.instrumentation.grpc import aio_client_interceptors

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.anchor_key import load_anchor_key
from gateway.audit.verify import verify_chain
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.http.login import read_login_url
from gateway.settings import Settings

DEV_OPERATOR = "local-operator"
PREVIEW_CHARS = 60  # of a payload in the approvals table; `approvals get` shows all of it


def _table(rows: Sequence[Sequence[str]], headers: Sequence[str]) -> str:
    widths = [
        max(len(h), *(len(r[i]) for r in rows)) if rows else len(h) for i, h in enumerate(headers)
    ]

    def join(cells: Sequence[str]) -> str:
        return "  ".join(c.ljust(w) for c, w in zip(cells, widths, strict=True)).rstrip()

    return "\n".join([join(headers), join(["-" * w for w in widths]), *map(join, rows)])


def _to_json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _preview(payload: Message) -> str:
    """A payload on one line, keys sorted, cut short for a table column."""
    text = json.dumps(
        json_format.MessageToDict(payload),
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"


def _next_page(token: str) -> None:
    if token:
        print(f"more: repeat with --page-token {token}")


def _print_rpc_error(error: grpc.aio.AioRpcError) -> None:
    lines = [f"error: {error.code().name}: {error.details()}"]
    status = rpc_status.from_call(error)  # type: ignore[arg-type]  # an aio error is a Call
    for detail in status.details if status else ():
        if detail.Is(error_details_pb2.ErrorInfo.DESCRIPTOR):
            info = error_details_pb2.ErrorInfo()
            detail.Unpack(info)
            lines.append(f"  reason: {info.reason}")
            lines.extend(f"  {k}: {v}" for k, v in sorted(info.metadata.items()))
        elif detail.Is(error_details_pb2.BadRequest.DESCRIPTOR):
            bad = error_details_pb2.BadRequest()
            detail.Unpack(bad)
            lines.extend(f"  field {v.field}: {v.description}" for v in bad.field_violations)
    print("\n".join(lines), file=sys.stderr)


def _json_object(text: str, option: str) -> dict[str, Any] | None:
    """``text`` parsed as a JSON object; None, once stderr says why, when it is not one."""
    try:
        value = json.loads(text)
    except json.JSONDecodeError as error:
        print(f"error: {option} is not valid JSON: {error}", file=sys.stderr)
        return None
    if not isinstance(value, dict):
        print(f"error: {option} must be a JSON object", file=sys.stderr)
        return None
    return value


def _credentials(args: argparse.Namespace) -> tuple[tuple[str, str], ...]:
    """A bearer token from --token-file, else (development mode) the caller to act as."""
    if args.token_file:
        token = Path(args.token_file).read_text(encoding="utf-8").strip()
        return (("authorization", f"Bearer {token}"),)
    caller = args.as_caller
    if caller is None and args.command in ("approvals", "executions"):
        caller = DEV_OPERATOR  # the documented local operator of development mode
    return ((DEV_CALLER_HEADER, caller),) if caller else ()


async def _client_command(args: argparse.Namespace) -> int:
    async with grpc.aio.insecure_channel(
        args.address,
        interceptors=aio_client_interceptors(),  # type: ignore[no-untyped-call]
    ) as channel:
        try:
            if args.command == "approvals":
                return await _approvals(apb_grpc.ApprovalServiceStub(channel), args)
            if args.command == "executions":
                return await _executions(epb_grpc.ExecutionServiceStub(channel), args)
            return await _dispatch(pb_grpc.ConnectorServiceStub(channel), args)
        except grpc.aio.AioRpcError as error:
            _print_rpc_error(error)
            return 1


async def _approvals(stub: apb_grpc.ApprovalServiceAsyncStub, args: argparse.Namespace) -> int:
    metadata = _credentials(args)
    timeout = args.timeout
    if args.action == "list":
        wanted = apb.ListApprovalsRequest(
            status=f"APPROVAL_STATUS_{args.status.upper()}" if args.status else None,
            page_size=args.page_size,
            page_token=args.page_token,
        )
        listed = await stub.ListApprovals(wanted, metadata=metadata, timeout=timeout)
        if args.json:
            print(json.dumps(_to_json(listed), ensure_ascii=False, indent=2))
            return 0
        rows = [
            [
                a.approval_id,
                f"{a.connector_key}.{a.operation}",
                apb.ApprovalStatus.Name(a.status).removeprefix("APPROVAL_STATUS_").lower(),
                a.requested_by,
                a.requested_at.ToJsonString(),
                str(a.escalation_level),
                _preview(a.payload),
            ]
            for a in listed.approvals
        ]
        headers = ["APPROVAL", "ACTION", "STATUS", "REQUESTED BY", "REQUESTED AT", "ESCALATION"]
        print(_table(rows, [*headers, "PAYLOAD"]))
        print(f"SLA compliance (30 days): {listed.approval_sla_compliance:.0%}")
        _next_page(listed.next_page_token)
        return 0
    if args.action == "get":
        got = await stub.GetApproval(
            apb.GetApprovalRequest(approval_id=args.approval_id),
            metadata=metadata,
            timeout=timeout,
        )
        print(json.dumps(_to_json(got.approval), ensure_ascii=False, indent=2))
        return 0
    if args.action == "approve":
        granted = await stub.ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=args.approval_id, note=args.note or ""),
            metadata=metadata,
            timeout=timeout,
        )
        print(
            f"granted {granted.approval.approval_id}: use it before "
            f"{granted.approval.use_by.ToJsonString()}"
        )
        return 0
    denied = await stub.DenyApproval(
        apb.DenyApprovalRequest(approval_id=args.approval_id, reason=args.reason),
        metadata=metadata,
        timeout=timeout,
    )
    print(f"denied {denied.approval.approval_id}")
    return 0


async def _dispatch(stub: pb_grpc.ConnectorServiceAsyncStub, args: argparse.Namespace) -> int:
    timeout = args.timeout
    metadata = _credentials(args)
    if args.command == "connectors" and args.action == "list":
        listed = await stub.ListConnectors(
            pb.ListConnectorsRequest(), timeout=timeout, metadata=metadata
        )
        if args.json:
            print(json.dumps(_to_json(listed), ensure_ascii=False, indent=2))
            return 0
        rows = [
            [
                c.key,
                c.display_name,
                c.display_name_ar,
                c.version,
                "yes" if c.configured else "no",
                ", ".join(o.name for o in c.operations),
            ]
            for c in listed.connectors
        ]
        print(_table(rows, ["KEY", "NAME", "NAME (AR)", "VERSION", "CONFIGURED", "OPERATIONS"]))
        return 0
    if args.command == "connectors" and args.action == "describe":
        described = await stub.DescribeConnector(
            pb.DescribeConnectorRequest(connector_key=args.key), timeout=timeout, metadata=metadata
        )
        if args.json:
            print(json.dumps(_to_json(described.connector), ensure_ascii=False, indent=2))
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
        print(_table(rows, ["OPERATION", "CLASS", "IDEMPOTENCY", "UNDONE BY", "DESCRIPTION"]))
        return 0
    if args.command == "call":
        payload = _json_object(args.payload, "--payload")
        if payload is None:
            return 2
        request = pb.ExecuteRequest(
            connector_key=args.key,
            operation=args.operation,
            idempotency_key=args.idempotency_key or uuid.uuid4().hex,
            approval_id=args.approval_id or "",
        )
        json_format.ParseDict(payload, request.payload)
        response = await stub.Execute(request, timeout=timeout, metadata=metadata)
        print(json.dumps(_to_json(response), ensure_ascii=False, indent=None if args.json else 2))
        return 0
    if args.command == "health":
        reply = await stub.Health(
            pb.HealthRequest(connector_key=args.key or ""), timeout=timeout, metadata=metadata
        )
        if args.json:
            print(json.dumps(_to_json(reply), ensure_ascii=False, indent=2))
            return 0
        rows = [
            [
                h.connector_key,
                pb.ConnectorStatus.Name(h.status).removeprefix("CONNECTOR_STATUS_").lower(),
                h.last_success_at.ToJsonString() if h.HasField("last_success_at") else "-",
                h.last_attempt_at.ToJsonString() if h.HasField("last_attempt_at") else "-",
                h.last_error or "-",
            ]
            for h in reply.connectors
        ]
        print(_table(rows, ["CONNECTOR", "STATUS", "LAST SUCCESS", "LAST ATTEMPT", "LAST ERROR"]))
        return 0
    raise AssertionError(f"unhandled command {args.command}")


async def _audit_verify(args: argparse.Namespace, settings: Settings) -> int:
    if not settings.database_path.exists():
        print(f"error: no audit database at {settings.database_path}", file=sys.stderr)
        return 1
    try:
        key = load_anchor_key(settings, create=False)
    except (ValueError, OSError) as error:  # a key too short, or none to be found
        print(f"error: {error}", file=sys.stderr)
        return 1
    report = await verify_chain(
        settings.database_path, key, anchor_every_s=settings.audit.anchor_every_s
    )
    if args.json:
        print(
            json.dumps(
                {
                    "ok": report.ok,
                    "rows_checked": report.rows_checked,
                    "anchors_checked": report.anchors_checked,
                    "first_broken_seq": report.first_broken_seq,
                    "problem": report.problem,
                }
            )
        )
    elif report.ok:
        print(
            f"audit chain intact: {report.rows_checked} rows, "
            f"{report.anchors_checked} anchors verified"
        )
    else:
        where = f" at row {report.first_broken_seq}" if report.first_broken_seq else ""
        print(f"audit chain BROKEN{where}: {report.problem}")
    return 0 if report.ok else 1


async def _executions(stub: epb_grpc.ExecutionServiceAsyncStub, args: argparse.Namespace) -> int:
    metadata = _credentials(args)
    timeout = args.timeout
    if args.action == "list":
        wanted = epb.ListExecutionsRequest(
            status=f"EXECUTION_STATUS_{args.status.upper()}" if args.status else None,
            page_size=args.page_size,
            page_token=args.page_token,
        )
        listed = await stub.ListExecutions(wanted, metadata=metadata, timeout=timeout)
        if args.json:
            print(json.dumps(_to_json(listed).get("executions", []), ensure_ascii=False))
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
        print(
            _table(
                rows,
                [
                    "EXECUTION",
                    "OPERATION",
                    "STATUS",
                    "ATTEMPTS",
                    "CALLER",
                    "IDEMPOTENCY KEY",
                    "CREATED",
                ],
            )
        )
        _next_page(listed.next_page_token)
        return 0
    if args.action == "get":
        got = await stub.GetExecution(
            epb.GetExecutionRequest(execution_id=args.execution_id),
            metadata=metadata,
            timeout=timeout,
        )
        print(json.dumps(_to_json(got.execution), ensure_ascii=False, indent=2))
        return 0
    request = epb.ResolveExecutionRequest(
        execution_id=args.execution_id,
        resolution=f"RESOLUTION_{args.resolution.upper().replace('-', '_')}",
        note=args.note,
    )
    if args.result is not None:
        result = _json_object(args.result, "--result")
        if result is None:
            return 2
        json_format.ParseDict(result, request.result)
    resolved = await stub.ResolveExecution(request, metadata=metadata, timeout=timeout)
    if args.json:
        print(json.dumps(_to_json(resolved.execution), ensure_ascii=False, indent=2))
        return 0
    status = epb.ExecutionStatus.Name(resolved.execution.status).removeprefix("EXECUTION_STATUS_")
    print(f"resolved {resolved.execution.execution_id}: {status.lower()}")
    return 0


def _paging_arguments(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--page-size", type=int, default=0, help="at most this many (default 100, at most 1000)"
    )
    parser.add_argument(
        "--page-token", default="", help="the token printed after the previous page"
    )


def _login_url(settings: Settings) -> int:
    """Prints the development mode's one-time link that signs a browser in."""
    try:
        print(read_login_url(settings.data_dir))
    except (OSError, ValueError):
        print(
            f"error: no login link in {settings.data_dir}: is the gateway running there in "
            "development mode (auth.mode = development)?",
            file=sys.stderr,
        )
        return 1
    return 0


def _parser(settings: Settings) -> argparse.ArgumentParser:
    parser = argparse.ArgumentParser(prog="connector-gateway", description=__doc__.splitlines()[0])
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
    sub = parser.add_subparsers(dest="command", required=True)
    sub.add_parser("serve", help="run the gateway until SIGTERM or SIGINT")
    sub.add_parser(
        "login-url",
        help="development mode: print the one-time link that signs a browser in to the HTTP side",
    )
    connectors = sub.add_parser("connectors", help="list or describe connectors")
    actions = connectors.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="every connector's contract")
    listing.add_argument("--json", action="store_true")
    describe = actions.add_parser("describe", help="one connector's contract")
    describe.add_argument("key")
    describe.add_argument("--json", action="store_true")
    call = sub.add_parser("call", help="run one operation through the gateway")
    call.add_argument("key", help="connector key, e.g. email")
    call.add_argument("operation", help="operation, e.g. send")
    call.add_argument("--payload", required=True, help="the payload as a JSON object")
    call.add_argument("--idempotency-key", help="default: a new random key")
    call.add_argument("--approval-id")
    call.add_argument("--json", action="store_true")
    health = sub.add_parser("health", help="each connector's status")
    health.add_argument("key", nargs="?")
    health.add_argument("--json", action="store_true")
    audit = sub.add_parser("audit", help="the audit trail")
    audit_actions = audit.add_subparsers(dest="action", required=True)
    verify = audit_actions.add_parser("verify", help="check the hash chain and its anchors")
    verify.add_argument("--json", action="store_true")
    approvals = sub.add_parser("approvals", help="the approval queue (operators)")
    approval_actions = approvals.add_subparsers(dest="action", required=True)
    listing_approvals = approval_actions.add_parser("list", help="the tenant's approvals")
    listing_approvals.add_argument(
        "--status", choices=["pending", "granted", "denied", "expired", "used"]
    )
    _paging_arguments(listing_approvals)
    listing_approvals.add_argument("--json", action="store_true")
    get_approval = approval_actions.add_parser("get", help="one approval")
    get_approval.add_argument("approval_id")
    approve = approval_actions.add_parser("approve", help="grant a pending approval")
    approve.add_argument("approval_id")
    approve.add_argument("--note")
    deny = approval_actions.add_parser("deny", help="refuse a pending approval")
    deny.add_argument("approval_id")
    deny.add_argument("--reason", required=True, help="why; the agent reads it")
    executions = sub.add_parser("executions", help="executions recorded in the ledger")
    execution_actions = executions.add_subparsers(dest="action", required=True)
    listing_executions = execution_actions.add_parser(
        "list", help="executions, e.g. those whose outcome is unknown and need an operator"
    )
    listing_executions.add_argument(
        "--status",
        choices=["running", "succeeded", "failed", "unknown", "compensated"],
        help="only this status",
    )
    _paging_arguments(listing_executions)
    listing_executions.add_argument("--json", action="store_true")
    get_execution = execution_actions.add_parser("get", help="one execution")
    get_execution.add_argument("execution_id")
    resolve = execution_actions.add_parser(
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
    return parser


def main(argv: Sequence[str] | None = None) -> int:
    settings = Settings()
    args = _parser(settings).parse_args(argv)
    logging.basicConfig(
        level=logging.INFO if args.command == "serve" else logging.WARNING,
        format="%(asctime)s %(levelname)s %(name)s %(message)s",
    )
    if args.command == "serve":
        from gateway.app import serve

        try:
            asyncio.run(serve(settings))
        except ValueError as error:  # the start-up checks' refusal of the configuration
            print(f"error: {error}", file=sys.stderr)
            return 2
        return 0
    if args.command == "audit":
        return asyncio.run(_audit_verify(args, settings))
    if args.command == "login-url":
        return _login_url(settings)
    return asyncio.run(_client_command(args))


if __name__ == "__main__":
    sys.exit(main())
