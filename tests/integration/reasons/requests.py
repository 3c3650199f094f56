"""The caller's own mistakes, and the gateway's: refused before any vendor contact."""

from __future__ import annotations

import json
import re
from pathlib import Path

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import sandbox_service_pb2 as spb
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from tests.integration.reasons.observe import (
    OPERATOR,
    Observed,
    Scenario,
    echo,
    executions,
    fake_rig,
    refused_rpc,
)
from tests.support.gateway import gateway_settings, running_gateway

EXECUTE = "/connectorgateway.v1.ConnectorService/Execute"
UNKNOWN_EXECUTION_ID = "0" * 32


async def malformed_request(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        raw = gw.channel.unary_unary(EXECUTE)
        seen = await refused_rpc(raw(b"\x0a\xff\xff\xff\xff", timeout=10), gw)
        assert fake.calls == []
        return seen


async def missing_field(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Execute(echo(key=""), timeout=10), gw)
        assert seen.fields == ["idempotency_key"]
        assert fake.calls == []
        return seen


async def invalid_field(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Execute(echo(key="two words"), timeout=10), gw)
        assert seen.fields == ["idempotency_key"]
        assert fake.calls == []
        return seen


async def unknown_operation(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Execute(echo("k1", operation="explode"), timeout=10), gw)
        assert seen.metadata["connector_key"] == "fake"
        assert seen.metadata["operation"] == "explode"
        assert fake.calls == []
        return seen


async def invalid_payload(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        request = echo("k1")
        request.payload.update({"text": 5, "count": 1.5})
        seen = await refused_rpc(gw.stub.Execute(request, timeout=10), gw)
        assert sorted(seen.fields) == ["payload.count", "payload.text"]
        assert fake.calls == []
        return seen


async def payload_too_large(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path, max_payload_bytes=4096) as (gw, fake):
        request = echo("k1", text="x" * 5000)
        seen = await refused_rpc(gw.stub.Execute(request, timeout=10), gw)
        assert seen.metadata["limit_bytes"] == "4096"
        assert seen.metadata["size_bytes"] == str(request.payload.ByteSize())
        assert fake.calls == []
        return seen


async def connector_not_found(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        request = echo("k1")
        request.connector_key = "nope"
        seen = await refused_rpc(gw.stub.Execute(request, timeout=10), gw)
        assert seen.metadata["connector_key"] == "nope"
        return seen


async def execution_not_found(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        request = epb.GetExecutionRequest(execution_id=UNKNOWN_EXECUTION_ID)
        seen = await refused_rpc(
            executions(gw).GetExecution(request, metadata=OPERATOR, timeout=10), gw
        )
        assert seen.metadata["execution_id"] == UNKNOWN_EXECUTION_ID
        return seen


async def idempotency_key_reused(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        await gw.stub.Execute(echo("k1", text="first"), timeout=10)
        seen = await refused_rpc(gw.stub.Execute(echo("k1", text="second"), timeout=10), gw)
        assert seen.metadata["idempotency_key"] == "k1"
        assert [payload["text"] for _, payload in fake.calls] == ["first"]
        return seen


async def policy_forbidden(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        seen = await refused_rpc(gw.stub.Execute(echo("k1", operation="forbidden"), timeout=10), gw)
        assert seen.metadata == {
            "connector_key": "fake",
            "operation": "forbidden",
            "policy_class": "C",
        }
        assert seen.audit_row()["event_type"] == "policy_denied"
        assert fake.calls == []
        return seen


async def connector_not_configured(tmp_path: Path) -> Observed:
    # The default tenant's WhatsApp account names a phone number but no access token: an
    # account of its own, so no sandbox stands in for it, and not a usable one.
    incomplete = {"phone_number_id": "106540352242922"}
    async with running_gateway(gateway_settings(tmp_path, whatsapp=incomplete)) as gw:
        request = pb.ExecuteRequest(
            connector_key="whatsapp", operation="send_text", idempotency_key="w1"
        )
        request.payload.update({"to": "+14155550123", "text": {"body": "hello"}})
        seen = await refused_rpc(gw.stub.Execute(request, timeout=10), gw)
        assert seen.metadata["connector_key"] == "whatsapp"
        return seen


async def not_sandboxed(tmp_path: Path) -> Observed:
    # The default tenant has an email account of its own: email acts at its relay, and the
    # sandbox runs for no tenant.
    account = {"host": "127.0.0.1", "port": 9, "from_address": "Ops <ops@example.com>"}
    async with running_gateway(gateway_settings(tmp_path, email=account)) as gw:
        shown = spb_grpc.SandboxServiceStub(gw.channel).ShowSandbox(
            spb.ShowSandboxRequest(connector_key="email"), metadata=OPERATOR, timeout=10
        )
        seen = await refused_rpc(shown, gw)
        assert seen.metadata["connector_key"] == "email"
        row = seen.audit_row()
        assert (row["caller"], row["connector_key"]) == ("local-operator", "email")
        assert "sandbox" not in json.loads(row["detail"])
        return seen


async def internal(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, fake):
        fake.broken = [RuntimeError("a bug in the adapter")]
        seen = await refused_rpc(gw.stub.Execute(echo("k1"), timeout=10), gw)
        trace_id = seen.metadata["trace_id"]
        assert re.fullmatch(r"[0-9a-f]{32}", trace_id)
        assert trace_id in seen.message  # the id to quote
        assert "a bug in the adapter" not in seen.message  # the details stay in the log
        assert seen.audit_row()["trace_id"] == trace_id
        # Nothing reached the vendor, so the key was freed: the same request runs now.
        ran = await gw.stub.Execute(echo("k1"), timeout=10)
        assert (ran.attempts, len(fake.calls)) == (1, 1)
        return seen


SCENARIOS: dict[str, Scenario] = {
    "MALFORMED_REQUEST": malformed_request,
    "MISSING_FIELD": missing_field,
    "INVALID_FIELD": invalid_field,
    "UNKNOWN_OPERATION": unknown_operation,
    "INVALID_PAYLOAD": invalid_payload,
    "PAYLOAD_TOO_LARGE": payload_too_large,
    "CONNECTOR_NOT_FOUND": connector_not_found,
    "EXECUTION_NOT_FOUND": execution_not_found,
    "IDEMPOTENCY_KEY_REUSED": idempotency_key_reused,
    "POLICY_FORBIDDEN": policy_forbidden,
    "CONNECTOR_NOT_CONFIGURED": connector_not_configured,
    "NOT_SANDBOXED": not_sandboxed,
    "INTERNAL": internal,
}
