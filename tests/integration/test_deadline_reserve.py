"""The gateway answers before the caller's deadline, with what it knows.

It works to the caller's deadline minus a reserve (``deadline_reserve_ms``), kept to make the
outcome durable and to send a precise answer. With a vendor that never answers and a short
deadline, the caller gets the gateway's own refusal (ErrorInfo with the attempts made) and the
outcome is in the audit trail and the ledger, not its client's local DEADLINE_EXCEEDED.
"""

from __future__ import annotations

import asyncio
from pathlib import Path

import grpc

from connectorgateway.v1 import execution_service_pb2 as epb
from tests.integration.reasons.observe import OPERATOR, echo, executions, fake_rig, refused_rpc

CALLER_DEADLINE_S = 2.0
RESERVE_MS = 500  # room for two durable writes on a loaded machine


async def test_a_stalled_vendor_is_answered_by_the_gateway_before_the_callers_deadline(
    tmp_path: Path,
) -> None:
    async with fake_rig(tmp_path, deadline_reserve_ms=RESERVE_MS) as (gw, fake):
        fake.hold = asyncio.Event()  # the vendor takes the request and never answers
        seen = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=CALLER_DEADLINE_S), gw)
        # The gateway's answer (the client's own timer would carry no ErrorInfo): the
        # vendor may have acted, once.
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN"), seen
        assert seen.metadata["attempts"] == "1"
        assert len(fake.calls) == 1
        # Written before the answer left: the outcome row and the execution to resolve.
        row = seen.audit_row()
        assert (row["event_type"], row["outcome"], row["attempts"]) == ("echo_failed", "unknown", 1)
        listed = await executions(gw).ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=10,
        )
        assert [e.execution_id for e in listed.executions] == [seen.metadata["execution_id"]]
