"""Enforced identity: bearer tokens, the authorization policy, and tenant isolation."""

from __future__ import annotations

import json
import sqlite3
import time
from collections.abc import AsyncIterator
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.app import Gateway
from gateway.registry import Connector
from tests.support.cli import run_cli
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.pki import SPIFFE_ID, Issued, make_pki, write_tls
from tests.support.rpc import refusal
from tests.support.tokens import POLICY, TokenKit, forged_token, token_kit


@dataclass
class Enforced:
    gw: RunningGateway
    kit: TokenKit
    fake: FakeAdapter
    vendor: FaultVendor


@pytest.fixture
async def enforced(tmp_path: Path) -> AsyncIterator[Enforced]:
    kit = token_kit(tmp_path)
    fake = FakeAdapter()
    async with fault_vendor() as vendor:
        # Each tenant acts at the vendor with its own account (API key).
        faulty = Connector(
            HttpFakeAdapter(vendor.url, api_key="acme-secret"),
            registered=True,
            tenants={
                "acme": HttpFakeAdapter(vendor.url, api_key="acme-secret"),
                "globex": HttpFakeAdapter(vendor.url, api_key="globex-secret"),
            },
        )
        settings = gateway_settings(
            tmp_path / "var",
            auth=kit.auth_settings(),
            reliability={
                "backoff_scale": 0.001,
                "rate_limits": {"faulty": {"per_second": 100, "burst": 100}},
            },
        )
        async with running_gateway(
            settings, connectors=[Connector(fake, registered=True), faulty]
        ) as gw:
            yield Enforced(gw, kit, fake, vendor)


def echo(key: str = "k1", operation: str = "echo") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation=operation, idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


async def refused_reason(call: object) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call  # type: ignore[misc]
    seen = refusal(caught.value)
    return seen.code, seen.reason


async def test_bad_credentials_are_refused_and_audited(enforced: Enforced) -> None:
    stub, kit = enforced.gw.stub, enforced.kit
    cases = [
        ((), grpc.StatusCode.UNAUTHENTICATED, "CREDENTIALS_MISSING"),
        (
            (("authorization", f"Bearer {forged_token('agent-acme')}"),),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_INVALID",
        ),
        (
            kit.metadata("agent-acme", exp=int(time.time()) - 60),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_EXPIRED",
        ),
        (
            kit.metadata("agent-acme", aud="someone-else"),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_WRONG_AUDIENCE",
        ),
        (
            kit.metadata("agent-acme", iss="https://evil.test"),
            grpc.StatusCode.UNAUTHENTICATED,
            "TOKEN_WRONG_ISSUER",
        ),
        (kit.metadata("stranger"), grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED"),
        (kit.metadata("agent-mail-only"), grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED"),
        # The development header means nothing once authentication is enforced.
        (
            (("x-connector-gateway-dev-caller", "local-operator"),),
            grpc.StatusCode.UNAUTHENTICATED,
            "CREDENTIALS_MISSING",
        ),
    ]
    for metadata, code, reason in cases:
        assert await refused_reason(stub.Execute(echo(), metadata=metadata, timeout=5)) == (
            code,
            reason,
        ), metadata
    assert enforced.fake.calls == []
    rows = enforced.gw.audit_rows()
    assert [(r["status_code"], r["reason"]) for r in rows] == [
        (code.name, reason) for _, code, reason in cases
    ]
    assert all(r["outcome"] == "refused" for r in rows)
    # No token ever reaches the audit trail.
    assert "Bearer" not in str(rows)


async def test_tenant_comes_from_identity_and_stores_are_isolated(enforced: Enforced) -> None:
    stub, kit = enforced.gw.stub, enforced.kit
    acme, globex = kit.metadata("agent-acme"), kit.metadata("agent-globex")
    # A tenant claim that disagrees with the policy is refused, never trusted.
    assert await refused_reason(
        stub.Execute(echo(), metadata=kit.metadata("agent-acme", tenant="globex"), timeout=5)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")

    a = await stub.Execute(echo("same-key"), metadata=acme, timeout=5)
    g = await stub.Execute(echo("same-key"), metadata=globex, timeout=5)
    # The same idempotency key in two tenants: two independent executions.
    assert not a.replayed
    assert not g.replayed
    assert a.execution_id != g.execution_id
    assert len(enforced.fake.calls) == 2
    # Another tenant's execution id is NOT_FOUND, exactly like an unknown one.
    for execution_id in (a.execution_id, "0" * 32):
        assert await refused_reason(
            stub.Compensate(
                pb.CompensateRequest(execution_id=execution_id, reason="r", idempotency_key="u"),
                metadata=globex,
                timeout=5,
            )
        ) == (grpc.StatusCode.NOT_FOUND, "EXECUTION_NOT_FOUND")
    rows = enforced.gw.audit_rows()
    assert {r["tenant"] for r in rows if r["event_type"] == "echoed"} == {"acme", "globex"}

    # Approvals: another tenant's approval is not found, and cannot be used.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await stub.Execute(echo("b1", "guarded"), metadata=acme, timeout=5)
    approval_id = refusal(caught.value).metadata["approval_id"]
    approvals = apb_grpc.ApprovalServiceStub(enforced.gw.channel)
    assert await refused_reason(
        approvals.GetApproval(
            apb.GetApprovalRequest(approval_id=approval_id),
            metadata=kit.metadata("ops-globex"),
            timeout=5,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "APPROVAL_NOT_FOUND")
    assert await refused_reason(
        approvals.ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id),
            metadata=kit.metadata("ops-globex"),
            timeout=5,
        )
    ) == (grpc.StatusCode.NOT_FOUND, "APPROVAL_NOT_FOUND")
    await approvals.ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=approval_id),
        metadata=kit.metadata("ops-acme"),
        timeout=5,
    )
    globex_request = echo("b1", "guarded")
    globex_request.approval_id = approval_id
    assert await refused_reason(stub.Execute(globex_request, metadata=globex, timeout=5)) == (
        grpc.StatusCode.NOT_FOUND,
        "APPROVAL_NOT_FOUND",
    )
    listed = await approvals.ListApprovals(
        apb.ListApprovalsRequest(), metadata=kit.metadata("ops-globex"), timeout=5
    )
    assert list(listed.approvals) == []
    # Non-operators cannot list.
    assert await refused_reason(
        approvals.ListApprovals(apb.ListApprovalsRequest(), metadata=acme, timeout=5)
    ) == (grpc.StatusCode.PERMISSION_DENIED, "OPERATOR_REQUIRED")


async def test_each_tenant_reaches_the_vendor_with_its_own_credentials(
    enforced: Enforced,
) -> None:
    stub, kit = enforced.gw.stub, enforced.kit
    for caller in ("agent-acme", "agent-globex"):
        request = pb.ExecuteRequest(
            connector_key="faulty", operation="create", idempotency_key=f"c-{caller}"
        )
        request.payload.update({"amount": 5})
        await stub.Execute(request, metadata=kit.metadata(caller), timeout=5)
    assert [r.headers["authorization"] for r in enforced.vendor.requests] == [
        "Bearer acme-secret",
        "Bearer globex-secret",
    ]


async def test_metrics_and_health_are_per_tenant(enforced: Enforced) -> None:
    stub, kit = enforced.gw.stub, enforced.kit
    await stub.Execute(echo(), metadata=kit.metadata("agent-acme"), timeout=5)
    acme = await stub.Metrics(
        pb.MetricsRequest(connector_key="fake"), metadata=kit.metadata("agent-acme"), timeout=5
    )
    globex = await stub.Metrics(
        pb.MetricsRequest(connector_key="fake"), metadata=kit.metadata("agent-globex"), timeout=5
    )
    assert (acme.connectors[0].calls, globex.connectors[0].calls) == (1, 0)
    health = await stub.Health(
        pb.HealthRequest(connector_key="fake"), metadata=kit.metadata("agent-globex"), timeout=5
    )
    assert health.connectors[0].status == pb.CONNECTOR_STATUS_UNKNOWN


@pytest.mark.parametrize("address", ["0.0.0.0:0", "10.1.2.3:0"])
async def test_refuses_to_start_unauthenticated_off_loopback(tmp_path: Path, address: str) -> None:
    gateway = Gateway(gateway_settings(tmp_path, grpc_address=address))
    with pytest.raises(ValueError, match="refusing to start without authentication"):
        await gateway.start()


async def test_mtls_client_certificate_identifies_the_caller(tmp_path: Path) -> None:
    pki = make_pki()
    tls = write_tls(tmp_path, pki, client_ca=True)
    policy = tmp_path / "mtls-policy.toml"
    policy.write_text(
        f'[callers."{SPIFFE_ID}"]\ntenant = "acme"\nallow = ["fake.*"]\n', encoding="utf-8"
    )
    settings = gateway_settings(
        tmp_path / "var",
        auth={"mode": "enforced", "policy_file": str(policy), "tls": tls.model_dump()},
    )
    fake = FakeAdapter()
    gateway = Gateway(settings, connectors=[Connector(fake, registered=True)])
    await gateway.start()
    try:
        address = f"127.0.0.1:{gateway.grpc_port}"

        def credentials(client: Issued | None) -> grpc.ChannelCredentials:
            return grpc.ssl_channel_credentials(
                root_certificates=pki.ca.pem,
                private_key=client.key if client else None,
                certificate_chain=client.cert if client else None,
            )

        async with grpc.aio.secure_channel(address, credentials(pki.uri_client)) as channel:
            done = await pb_grpc.ConnectorServiceStub(channel).Execute(echo(), timeout=5)
        assert done.attempts == 1
        rows = [r for r in sqlite_rows(settings.database_path) if r["event_type"] == "echoed"]
        assert [(r["caller"], r["tenant"]) for r in rows] == [(SPIFFE_ID, "acme")]
        # A certificate the policy does not name is refused by the policy...
        async with grpc.aio.secure_channel(address, credentials(pki.cn_client)) as channel:
            assert await refused_reason(
                pb_grpc.ConnectorServiceStub(channel).Execute(echo("k2"), timeout=5)
            ) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
        # ...and no certificate at all is refused by the TLS handshake.
        async with grpc.aio.secure_channel(address, credentials(None)) as channel:
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await pb_grpc.ConnectorServiceStub(channel).Execute(echo("k3"), timeout=5)
            assert caught.value.code() == grpc.StatusCode.UNAVAILABLE
        assert len(fake.calls) == 1
    finally:
        await gateway.stop(grace_s=1)


def sqlite_rows(path: Path) -> list[dict[str, object]]:
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY seq")]


async def test_a_token_naming_a_workload_s_spiffe_id_gets_none_of_its_rights(
    tmp_path: Path,
) -> None:
    kit = token_kit(tmp_path)
    pki = make_pki()
    tls = write_tls(tmp_path, pki, client_ca=True)
    # The workload certificate may call fake.*; the token issuer is trusted too.
    kit.policy_file.write_text(
        POLICY + f'[callers."{SPIFFE_ID}"]\ntenant = "acme"\nallow = ["fake.*"]\n',
        encoding="utf-8",
    )
    settings = gateway_settings(
        tmp_path / "var", auth={**kit.auth_settings(), "tls": tls.model_dump()}
    )
    fake = FakeAdapter()
    gateway = Gateway(settings, connectors=[Connector(fake, registered=True)])
    await gateway.start()
    try:
        address = f"127.0.0.1:{gateway.grpc_port}"

        def credentials(client: Issued) -> grpc.ChannelCredentials:
            return grpc.ssl_channel_credentials(
                root_certificates=pki.ca.pem, private_key=client.key, certificate_chain=client.cert
            )

        # A caller with some valid client certificate and a token whose sub is the SPIFFE id.
        async with grpc.aio.secure_channel(address, credentials(pki.cn_client)) as channel:
            stub = pb_grpc.ConnectorServiceStub(channel)
            code, reason = await refused_reason(
                stub.Execute(echo("spoof"), metadata=kit.metadata(SPIFFE_ID), timeout=5)
            )
            assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
        assert fake.calls == []
        # The workload itself, proven by its certificate, keeps its rights.
        async with grpc.aio.secure_channel(address, credentials(pki.uri_client)) as channel:
            await pb_grpc.ConnectorServiceStub(channel).Execute(echo("workload"), timeout=5)
        assert len(fake.calls) == 1
        refused, *served = sqlite_rows(settings.database_path)
        assert (refused["caller"], refused["reason"]) == ("", "CALLER_NOT_ALLOWED")
        assert served
        assert {r["caller"] for r in served} == {SPIFFE_ID}
    finally:
        await gateway.stop(grace_s=1)


async def test_an_enforced_policy_in_the_old_form_does_not_start(tmp_path: Path) -> None:
    kit = token_kit(tmp_path)
    kit.policy_file.write_text(
        '[callers."billing-agent"]\ntenant = "acme"\nallow = ["fake.*"]\n', encoding="utf-8"
    )
    gateway = Gateway(gateway_settings(tmp_path / "var", auth=kit.auth_settings()))
    try:
        with pytest.raises(ValueError, match="old form") as caught:
            await gateway.start()
    finally:
        await gateway.stop(grace_s=0)
    assert (
        "caller 'billing-agent' is in the old form: write "
        "'jwt:https://issuer.test#billing-agent' for a bearer token of the configured issuer"
    ) in str(caught.value)


async def test_serve_with_an_old_form_policy_says_why_without_a_traceback(tmp_path: Path) -> None:
    kit = token_kit(tmp_path)
    kit.policy_file.write_text(
        '[callers."billing-agent"]\ntenant = "acme"\nallow = ["fake.*"]\n', encoding="utf-8"
    )
    jwt = kit.auth_settings()["jwt"]
    ran = await run_cli(
        "serve",
        data_dir=tmp_path / "var",
        env={
            "CONNECTOR_GATEWAY_GRPC_ADDRESS": "127.0.0.1:0",
            "CONNECTOR_GATEWAY_HTTP_ADDRESS": "127.0.0.1:0",
            "CONNECTOR_GATEWAY_AUTH__MODE": "enforced",
            "CONNECTOR_GATEWAY_AUTH__POLICY_FILE": str(kit.policy_file),
            "CONNECTOR_GATEWAY_AUTH__JWT": json.dumps(jwt),
        },
    )
    assert ran.returncode == 2, ran.stdout + ran.stderr
    assert "Traceback" not in ran.stderr
    assert (
        "error: authorization policy "
        f"{kit.policy_file}: caller 'billing-agent' is in the old form: write "
        "'jwt:https://issuer.test#billing-agent'"
    ) in ran.stderr
