"""``connector-gateway approvals list|get|approve|deny``: the approval queue, for operators."""

from __future__ import annotations

import argparse
import json

from google.protobuf import json_format
from google.protobuf.message import Message

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from gateway.cli.command import Commands, set_handler
from gateway.cli.connection import Gateway, operator_command
from gateway.cli.options import add_paging_options
from gateway.cli.output import message_dict, print_json, print_next_page, table

PREVIEW_CHARS = 60  # of a payload in the approvals table; `approvals get` shows all of it


def add_commands(commands: Commands) -> None:
    approvals = commands.add_parser("approvals", help="the approval queue (operators)")
    actions = approvals.add_subparsers(dest="action", required=True)
    listing = actions.add_parser("list", help="the tenant's approvals")
    listing.add_argument("--status", choices=["pending", "granted", "denied", "expired", "used"])
    add_paging_options(listing)
    listing.add_argument("--json", action="store_true")
    set_handler(listing, operator_command(_list))
    get = actions.add_parser("get", help="one approval")
    get.add_argument("approval_id")
    set_handler(get, operator_command(_get))
    approve = actions.add_parser("approve", help="grant a pending approval")
    approve.add_argument("approval_id")
    approve.add_argument("--note")
    set_handler(approve, operator_command(_approve))
    deny = actions.add_parser("deny", help="refuse a pending approval")
    deny.add_argument("approval_id")
    deny.add_argument("--reason", required=True, help="why; the agent reads it")
    set_handler(deny, operator_command(_deny))


async def _list(gateway: Gateway, args: argparse.Namespace) -> int:
    wanted = apb.ListApprovalsRequest(
        status=f"APPROVAL_STATUS_{args.status.upper()}" if args.status else None,
        page_size=args.page_size,
        page_token=args.page_token,
    )
    listed = await apb_grpc.ApprovalServiceStub(gateway.channel).ListApprovals(
        wanted, metadata=gateway.metadata, timeout=gateway.timeout
    )
    if args.json:
        print_json(message_dict(listed))
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
    print(table(rows, [*headers, "PAYLOAD"]))
    print(f"SLA compliance (30 days): {listed.approval_sla_compliance:.0%}")
    print_next_page(listed.next_page_token)
    return 0


async def _get(gateway: Gateway, args: argparse.Namespace) -> int:
    got = await apb_grpc.ApprovalServiceStub(gateway.channel).GetApproval(
        apb.GetApprovalRequest(approval_id=args.approval_id),
        metadata=gateway.metadata,
        timeout=gateway.timeout,
    )
    print_json(message_dict(got.approval))
    return 0


async def _approve(gateway: Gateway, args: argparse.Namespace) -> int:
    granted = await apb_grpc.ApprovalServiceStub(gateway.channel).ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=args.approval_id, note=args.note or ""),
        metadata=gateway.metadata,
        timeout=gateway.timeout,
    )
    print(
        f"granted {granted.approval.approval_id}: use it before "
        f"{granted.approval.use_by.ToJsonString()}"
    )
    return 0


async def _deny(gateway: Gateway, args: argparse.Namespace) -> int:
    denied = await apb_grpc.ApprovalServiceStub(gateway.channel).DenyApproval(
        apb.DenyApprovalRequest(approval_id=args.approval_id, reason=args.reason),
        metadata=gateway.metadata,
        timeout=gateway.timeout,
    )
    print(f"denied {denied.approval.approval_id}")
    return 0


def _preview(payload: Message) -> str:
    """A payload on one line, keys sorted, cut short for a table column."""
    text = json.dumps(
        json_format.MessageToDict(payload),
        ensure_ascii=False,
        separators=(",", ":"),
        sort_keys=True,
    )
    return text if len(text) <= PREVIEW_CHARS else text[: PREVIEW_CHARS - 1] + "…"
