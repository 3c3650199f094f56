"""Only a succeeded execution can be undone: one that failed, or whose outcome is unknown,
is refused before anything reaches the vendor."""

from __future__ import annotations

from collections.abc import Callable
from pathlib import Path

import grpc
import pytest

from gateway.errors import GatewayError, VendorRejected
from tests.integration.reasons.executions import lost_answer, undo, undone_at_vendor
from tests.integration.reasons.observe import echo, fake_rig, refused_rpc


def refused_by_vendor() -> VendorRejected:
    return VendorRejected("the vendor refused the recipient", metadata={"vendor_code": "550"})


@pytest.mark.parametrize(
    ("failure", "status"),
    [(refused_by_vendor, "failed"), (lost_answer, "unknown")],
    ids=["failed", "unknown outcome"],
)
async def test_an_execution_that_did_not_succeed_is_not_undone(
    tmp_path: Path, failure: Callable[[], GatewayError], status: str
) -> None:
    async with fake_rig(tmp_path) as (gw, fake):
        fake.failures = [failure()]
        ran = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=10), gw)
        execution_id = ran.metadata.get("execution_id") or ran.audit_row()["execution_id"]
        seen = await refused_rpc(gw.stub.Compensate(undo(execution_id), timeout=10), gw)
        assert (seen.code, seen.reason) == (
            grpc.StatusCode.FAILED_PRECONDITION,
            "EXECUTION_NOT_SUCCEEDED",
        )
        assert seen.metadata == {"execution_id": execution_id, "status": status}
        assert undone_at_vendor(fake) == []
        row = seen.audit_row()
        assert (row["event_type"], row["outcome"], row["execution_id"]) == (
            "request_rejected",
            "refused",
            execution_id,
        )
        # Asking again changes nothing: still refused, still nothing sent.
        again = await refused_rpc(gw.stub.Compensate(undo(execution_id), timeout=10), gw)
        assert again.reason == "EXECUTION_NOT_SUCCEEDED"
        assert undone_at_vendor(fake) == []
