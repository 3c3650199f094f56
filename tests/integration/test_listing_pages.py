"""ListApprovals and ListExecutions answer one page at a time, continued by an opaque token
that is refused anywhere but where it came from."""

from __future__ import annotations

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.support.cli import run_cli
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway
from tests.support.rpc import Refusal, refusal

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)


def request(operation: str, n: int) -> pb.ExecuteRequest:
    made = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=f"k{n}")
    made.payload.update({"text": f"request {n}"})
    return made


async def refused_with(call: object) -> Refusal:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    return refusal(caught.value)


async def test_approvals_page_by_page(fake_gateway: RunningGateway) -> None:
    gw = fake_gateway
    for n in range(5):
        with pytest.raises(grpc.aio.AioRpcError):
            await gw.stub.Execute(request("guarded", n), metadata=AGENT, timeout=5)
    stub = apb_grpc.ApprovalServiceStub(gw.channel)
    everything = await stub.ListApprovals(apb.ListApprovalsRequest(), metadata=OPERATOR, timeout=5)
    assert everything.next_page_token == ""

    pages: list[list[str]] = []
    token = ""
    while True:
        listed = await stub.ListApprovals(
            apb.ListApprovalsRequest(page_size=2, page_token=token), metadata=OPERATOR, timeout=5
        )
        pages.append([a.approval_id for a in listed.approvals])
        assert listed.approval_sla_compliance == everything.approval_sla_compliance
        token = listed.next_page_token
        if not token:
            break

    assert [len(page) for page in pages] == [2, 2, 1]
    assert [i for page in pages for i in page] == [a.approval_id for a in everything.approvals]

    # A token continues only the listing (and filter) it came from.
    first = await stub.ListApprovals(
        apb.ListApprovalsRequest(page_size=2), metadata=OPERATOR, timeout=5
    )
    for wrong in (
        apb.ListApprovalsRequest(
            status=apb.APPROVAL_STATUS_PENDING, page_token=first.next_page_token
        ),
        apb.ListApprovalsRequest(page_token="not a token"),
        apb.ListApprovalsRequest(page_token=first.next_page_token[:-3] + "AAA"),
    ):
        seen = await refused_with(stub.ListApprovals(wrong, metadata=OPERATOR, timeout=5))
        assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_FIELD")
        assert [field for field, _ in seen.violations] == ["page_token"]
    rows = [r for r in gw.audit_rows() if r["reason"] == "INVALID_FIELD"]
    assert [r["event_type"] for r in rows] == ["request_rejected"] * 3


async def test_executions_page_by_page(fake_gateway: RunningGateway, fake: FakeAdapter) -> None:
    gw = fake_gateway
    for n in range(5):
        await gw.stub.Execute(request("echo", n), metadata=AGENT, timeout=5)
    stub = epb_grpc.ExecutionServiceStub(gw.channel)
    everything = await stub.ListExecutions(
        epb.ListExecutionsRequest(), metadata=OPERATOR, timeout=5
    )
    assert len(everything.executions) == 5

    first = await stub.ListExecutions(
        epb.ListExecutionsRequest(page_size=3), metadata=OPERATOR, timeout=5
    )
    rest = await stub.ListExecutions(
        epb.ListExecutionsRequest(page_size=3, page_token=first.next_page_token),
        metadata=OPERATOR,
        timeout=5,
    )
    assert rest.next_page_token == ""
    assert [e.execution_id for e in (*first.executions, *rest.executions)] == [
        e.execution_id for e in everything.executions
    ]

    # A token continues only the filter it came from.
    other = await refused_with(
        stub.ListExecutions(
            epb.ListExecutionsRequest(
                status=epb.EXECUTION_STATUS_SUCCEEDED, page_token=first.next_page_token
            ),
            metadata=OPERATOR,
            timeout=5,
        )
    )
    assert other.reason == "INVALID_FIELD"

    address = ("--address", gw.address)
    data_dir = gw.gateway.settings.data_dir
    shown = await run_cli(*address, "executions", "list", "--page-size", "3", data_dir=data_dir)
    assert shown.returncode == 0, shown.stderr
    more = shown.stdout.splitlines()[-1]
    assert more.startswith("more: repeat with --page-token ")
    rest_shown = await run_cli(
        *address, "executions", "list", "--page-token", more.rsplit(" ", 1)[-1], data_dir=data_dir
    )
    assert rest_shown.returncode == 0, rest_shown.stderr
    assert sum(e.execution_id in rest_shown.stdout for e in everything.executions) == 2
