"""Caller ids stored before callers had namespaces are rewritten at start-up.

The database is one an older gateway left: approvals and executions name their callers in
the old, plain form. Starting a gateway with a namespaced policy rewrites every id the policy
maps unambiguously, leaves ambiguous ones (logged), and never touches the audit trail.
"""

from __future__ import annotations

import json
import sqlite3
from contextlib import closing
from datetime import timedelta
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from gateway.anchor_key import load_anchor_key
from gateway.audit.record import AuditEvent, Outcome
from gateway.audit.writer import AuditWriter
from gateway.auth.stored_callers import plan
from gateway.canonical import sha256_hex
from gateway.clock import to_text, utc_now
from gateway.registry import Connector
from gateway.reliability.idempotency import execute_fingerprint
from gateway.store.outcomes import response_outcome
from gateway.store.sqlite import migrate
from tests.support.cli import run_cli
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.tokens import POLICY, caller, token_kit

# "both" could be a token's sub or a certificate's common name: only an operator knows.
EXTRA_POLICY = f"""
[callers."{caller("both")}"]
tenant = "acme"
allow = []

[callers."cert:both"]
tenant = "acme"
allow = []
"""


def old_database(path: Path) -> None:
    """Rows as a gateway that stored plain caller ids left them."""
    now = utc_now()
    approval = (
        "INSERT INTO approval_requests (approval_id, tenant, connector_key, operation, "
        "payload_digest, status, requested_by, requested_at, resolved_by, expires_at) "
        "VALUES (?, 'acme', 'fake', 'guarded', ?, ?, ?, ?, ?, ?)"
    )
    execution = (
        "INSERT INTO executions (execution_id, tenant, caller, connector_key, operation, "
        "idempotency_key, payload_digest, status, created_at) "
        "VALUES (?, 'acme', ?, 'fake', 'echo', ?, 'd', 'succeeded', ?)"
    )
    later = to_text(now + timedelta(hours=1))
    with closing(sqlite3.connect(path)) as conn, conn:
        for approval_id, status, requested_by, resolved_by in (
            ("apr_111111111111111111111111", "pending", "agent-acme", ""),
            ("apr_222222222222222222222222", "pending", "ops-acme", ""),
            ("apr_333333333333333333333333", "denied", "agent-acme", "ops-acme"),
            ("apr_444444444444444444444444", "pending", "both", ""),
        ):
            conn.execute(
                approval,
                (approval_id, "d" * 64, status, requested_by, to_text(now), resolved_by, later),
            )
        # The key agent-acme ran its execution under, answered and kept for replays.
        conn.execute(
            "INSERT INTO idempotency_records (tenant, scope, idempotency_key, fingerprint, "
            "connector_key, operation, execution_id, state, owner, outcome, created_at, "
            "expires_at) VALUES ('acme', 'agent-acme', ?, ?, 'fake', 'echo', ?, 'completed', "
            "'gone', ?, ?, ?)",
            (
                "k-" + "c" * 32,
                execute_fingerprint("fake", "echo", sha256_hex({"text": "hi"})),
                "c" * 32,
                json.dumps(response_outcome(pb.ExecuteResponse(execution_id="c" * 32))),
                to_text(now),
                later,
            ),
        )
        for execution_id, who in (
            ("cccccccccccccccccccccccccccccccc", "agent-acme"),
            ("bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb", "no-longer-in-the-policy"),
            ("aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa", "both"),
            ("dddddddddddddddddddddddddddddddd", "spiffe://example.org/ns/agents/sa/agent-a"),
        ):
            conn.execute(execution, (execution_id, who, f"k-{execution_id}", to_text(now)))


def stored(path: Path) -> dict[str, tuple[str, ...]]:
    with closing(sqlite3.connect(path)) as conn:
        rows = {
            r[0]: (r[1], r[2])
            for r in conn.execute(
                "SELECT approval_id, requested_by, resolved_by FROM approval_requests"
            )
        }
        rows.update(
            {r[0]: (r[1],) for r in conn.execute("SELECT execution_id, caller FROM executions")}
        )
        return rows


async def test_old_caller_ids_are_rewritten_at_start_up(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kit = token_kit(tmp_path)
    kit.policy_file.write_text(POLICY + EXTRA_POLICY, encoding="utf-8")
    settings = gateway_settings(tmp_path / "var", auth=kit.auth_settings())
    await migrate(settings.database_path)
    old_database(settings.database_path)
    # An audit row written under the old id: it is hash-chained and stays as it was.
    writer = AuditWriter(
        settings.database_path, settings.audit, load_anchor_key(settings, create=True)
    )
    await writer.start()
    await writer.append(
        AuditEvent("approval_required", Outcome.REFUSED, "acme", "agent-acme", "Execute")
    )
    await writer.close()

    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        assert stored(settings.database_path) == {
            "apr_111111111111111111111111": (caller("agent-acme"), ""),
            "apr_222222222222222222222222": (caller("ops-acme"), ""),
            "apr_333333333333333333333333": (caller("agent-acme"), caller("ops-acme")),
            "apr_444444444444444444444444": ("both", ""),  # ambiguous: left, and logged
            "cccccccccccccccccccccccccccccccc": (caller("agent-acme"),),
            "bbbbbbbbbbbbbbbbbbbbbbbbbbbbbbbb": ("no-longer-in-the-policy",),
            "aaaaaaaaaaaaaaaaaaaaaaaaaaaaaaaa": ("both",),
            "dddddddddddddddddddddddddddddddd": ("spiffe://example.org/ns/agents/sa/agent-a",),
        }
        assert "stored caller 'both' in approval_requests.requested_by is left" in caplog.text

        # What callers observe: their own approvals and executions are still theirs...
        approvals = apb_grpc.ApprovalServiceStub(gw.channel)
        mine = await approvals.GetApproval(
            apb.GetApprovalRequest(approval_id="apr_111111111111111111111111"),
            metadata=kit.metadata("agent-acme"),
            timeout=5,
        )
        assert mine.approval.requested_by == caller("agent-acme")
        executions = epb_grpc.ExecutionServiceStub(gw.channel)
        await executions.GetExecution(
            epb.GetExecutionRequest(execution_id="cccccccccccccccccccccccccccccccc"),
            metadata=kit.metadata("agent-acme"),
            timeout=5,
        )
        # ...and so are their keys: a repeat replays the stored answer.
        repeat = pb.ExecuteRequest(
            connector_key="fake", operation="echo", idempotency_key="k-" + "c" * 32
        )
        repeat.payload.update({"text": "hi"})
        replayed = await gw.stub.Execute(repeat, metadata=kit.metadata("agent-acme"), timeout=5)
        assert (replayed.replayed, replayed.execution_id) == (True, "c" * 32)
        # ...and an operator still cannot approve what it asked for under its old name.
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await approvals.ApproveApproval(
                apb.ApproveApprovalRequest(approval_id="apr_222222222222222222222222"),
                metadata=kit.metadata("ops-acme"),
                timeout=5,
            )
        assert refusal(caught.value).reason == "SELF_APPROVAL_FORBIDDEN"
        assert gw.audit_rows()[0]["caller"] == "agent-acme"

    # A second start finds nothing left to rewrite and changes nothing.
    before = stored(settings.database_path)
    async with running_gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)]):
        assert stored(settings.database_path) == before
    verify = await run_cli("audit", "verify", data_dir=settings.data_dir)
    assert verify.returncode == 0, verify.stdout + verify.stderr


def test_plan_maps_each_old_id_to_the_one_caller_whose_credential_carries_it() -> None:
    callers = [
        "jwt:https://issuer.example#agent-a",
        "cert:gateway-client",
        "uri:urn:example:worker",
        "spiffe://example.org/billing",
        "jwt:https://issuer.example#both",
        "cert:both",
        "local-agent",
    ]
    mapping = plan(
        [
            "agent-a",
            "gateway-client",
            "urn:example:worker",
            "spiffe://example.org/billing",
            "both",
            "local-agent",
            "stranger",
            "jwt:https://issuer.example#agent-a",
            "",
        ],
        callers,
    )
    assert mapping.rewrites == {
        "agent-a": "jwt:https://issuer.example#agent-a",
        "gateway-client": "cert:gateway-client",
        "urn:example:worker": "uri:urn:example:worker",
    }
    assert mapping.ambiguous == {"both": ("cert:both", "jwt:https://issuer.example#both")}
