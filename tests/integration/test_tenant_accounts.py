"""Each tenant acts at the vendor with its own account and within its own quota, configured
as the README says (`CONNECTOR_GATEWAY_TENANTS__<NAME>__...`); a tenant without an account
of its own acts at the vendor's sandbox: nothing falls back to another tenant's account."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import call
from tests.support.rpc import Refusal, refusal
from tests.support.smtp_peers import SmtpPeer, recording_smtp_server

# Agents of three tenants: "default" (the top-level email account), "acme" (an account of its
# own), "globex" (none).
POLICY = """
[callers.agent-default]
tenant = "default"
allow = ["email.*"]

[callers.agent-acme]
tenant = "acme"
allow = ["email.*"]

[callers.agent-globex]
tenant = "globex"
allow = ["email.*"]
"""
# email.send is class B; a local development configuration may try it as class A.
TRY_EMAIL_AS_A = {"allow_loosening": True, "overrides": {"email.send": "A"}}
DEFAULT_SENDER = "Default <mail@default.example>"
ACME_SENDER = "Acme <mail@acme.example>"


@dataclass
class Tenants:
    gw: RunningGateway
    default_relay: SmtpPeer
    acme_relay: SmtpPeer


@pytest.fixture
def relays() -> Iterator[tuple[SmtpPeer, SmtpPeer]]:
    with recording_smtp_server() as default_relay, recording_smtp_server() as acme_relay:
        yield default_relay, acme_relay


@asynccontextmanager
async def tenants_gateway(
    tmp_path: Path,
    monkeypatch: pytest.MonkeyPatch,
    relays: tuple[SmtpPeer, SmtpPeer],
    **acme_settings: str,
) -> AsyncIterator[Tenants]:
    """A development gateway whose acme account (and any other acme setting) comes from the
    environment, as an operator would configure it."""
    default_relay, acme_relay = relays
    acme = {
        "EMAIL__HOST": acme_relay.host,
        "EMAIL__PORT": str(acme_relay.port),
        "EMAIL__SECURITY": "none",
        "EMAIL__FROM_ADDRESS": ACME_SENDER,
        **acme_settings,
    }
    for name, value in acme.items():
        monkeypatch.setenv(f"CONNECTOR_GATEWAY_TENANTS__ACME__{name}", value)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    settings = gateway_settings(
        tmp_path / "var",
        auth={"policy_file": str(policy), "dev_caller": "agent-default"},
        email=default_relay.settings(from_address=DEFAULT_SENDER).model_dump(),
        policy=TRY_EMAIL_AS_A,
    )
    assert set(settings.tenants) == {"acme"}
    async with running_gateway(settings) as gw:
        yield Tenants(gw, default_relay, acme_relay)


def as_agent(tenant: str) -> tuple[tuple[str, str], ...]:
    return ((DEV_CALLER_HEADER, f"agent-{tenant}"),)


def send(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key=key)
    request.payload.update({"to": ["ops@example.com"], "subject": "Report", "text": "Numbers."})
    return request


async def refused(gw: RunningGateway, tenant: str, key: str) -> Refusal:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(send(key), metadata=as_agent(tenant), timeout=5)
    return refusal(caught.value)


async def email_status(gw: RunningGateway, tenant: str) -> int:
    health = await gw.stub.Health(
        pb.HealthRequest(connector_key="email"), metadata=as_agent(tenant), timeout=5
    )
    [email] = health.connectors
    return email.status


async def email_configured(gw: RunningGateway, tenant: str) -> bool:
    described = await gw.stub.DescribeConnector(
        pb.DescribeConnectorRequest(connector_key="email"), metadata=as_agent(tenant), timeout=5
    )
    return described.connector.configured


async def board_status(gw: RunningGateway, tenant: str) -> str:
    """The email connector's status on the HTTP side's health JSON, as the tenant sees it."""
    got = await call(
        gw, "GET", "/v1/connectors/health", headers={DEV_CALLER_HEADER: f"agent-{tenant}"}
    )
    assert got.status == 200, got
    [email] = [c for c in got.body["connectors"] if c["connector_key"] == "email"]
    return str(email["status"])


async def email_sandboxed(gw: RunningGateway, tenant: str) -> tuple[bool, bool, bool]:
    """Whether the tenant sees email sandboxed in its description, its health and the board."""
    described = await gw.stub.DescribeConnector(
        pb.DescribeConnectorRequest(connector_key="email"), metadata=as_agent(tenant), timeout=5
    )
    health = await gw.stub.Health(
        pb.HealthRequest(connector_key="email"), metadata=as_agent(tenant), timeout=5
    )
    got = await call(
        gw, "GET", "/v1/connectors/health", headers={DEV_CALLER_HEADER: f"agent-{tenant}"}
    )
    [board] = [c for c in got.body["connectors"] if c["connector_key"] == "email"]
    return (
        described.connector.sandbox,
        health.connectors[0].sandbox,
        board.get("sandbox", False),
    )


async def test_a_tenant_without_its_own_account_sends_at_the_sandbox_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relays: tuple[SmtpPeer, SmtpPeer]
) -> None:
    async with tenants_gateway(tmp_path, monkeypatch, relays) as tenants:
        gw = tenants.gw
        assert await email_configured(gw, "globex")
        assert await email_sandboxed(gw, "globex") == (True, True, True)
        assert await email_status(gw, "globex") == pb.CONNECTOR_STATUS_UNKNOWN
        sent = await gw.stub.Execute(send("report-1"), metadata=as_agent("globex"), timeout=5)
        again = await gw.stub.Execute(send("report-1"), metadata=as_agent("globex"), timeout=5)
        assert (sent.replayed, again.replayed) == (False, True)

        # The message reached globex's sandbox, once, and no tenant's relay.
        [kept] = gw.gateway.sandboxes.running["email"].received("globex")
        assert (kept["to"], kept["subject"], kept["text"]) == (
            "ops@example.com",
            "Report",
            "Numbers.",
        )
        assert kept["message_id"] == sent.result["message_id"]
        assert gw.gateway.sandboxes.running["email"].received("default") == []
        assert tenants.default_relay.messages == []
        assert tenants.acme_relay.messages == []
        rows = [r for r in gw.audit_rows() if r["tenant"] == "globex"]
        assert [(r["event_type"], r["caller"]) for r in rows] == [
            ("execution_requested", "agent-globex"),
            ("message_sent", "agent-globex"),
            ("execution_replayed", "agent-globex"),
        ]
        assert all(json.loads(r["detail"])["sandbox"] == "true" for r in rows)
        assert await email_status(gw, "globex") == pb.CONNECTOR_STATUS_OK

        # The tenants with an account of their own see it configured, at their relay.
        for tenant in ("default", "acme"):
            assert await email_configured(gw, tenant)
            assert await email_sandboxed(gw, tenant) == (False, False, False)
            assert await email_status(gw, tenant) == pb.CONNECTOR_STATUS_UNKNOWN
            assert await board_status(gw, tenant) == "CONNECTOR_STATUS_UNKNOWN"


async def test_each_tenant_sends_through_its_own_account_only(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relays: tuple[SmtpPeer, SmtpPeer]
) -> None:
    async with tenants_gateway(tmp_path, monkeypatch, relays) as tenants:
        gw = tenants.gw
        await gw.stub.Execute(send("report-1"), metadata=as_agent("acme"), timeout=5)
        [acme_message] = tenants.acme_relay.messages
        assert acme_message.message["From"] == ACME_SENDER
        assert tenants.default_relay.messages == []

        await gw.stub.Execute(send("report-1"), metadata=as_agent("default"), timeout=5)
        [default_message] = tenants.default_relay.messages
        assert default_message.message["From"] == DEFAULT_SENDER
        assert len(tenants.acme_relay.messages) == 1

        assert await email_status(gw, "acme") == pb.CONNECTOR_STATUS_OK
        assert await email_status(gw, "default") == pb.CONNECTOR_STATUS_OK
        assert await email_status(gw, "globex") == pb.CONNECTOR_STATUS_UNKNOWN  # sandboxed
        sent = [r for r in gw.audit_rows() if r["event_type"] == "message_sent"]
        assert [r["tenant"] for r in sent] == ["acme", "default"]
        assert ["sandbox" in json.loads(r["detail"]) for r in sent] == [False, False]


async def test_a_tenants_rate_limit_limits_that_tenant_alone(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, relays: tuple[SmtpPeer, SmtpPeer]
) -> None:
    # One message, then the next token in 1000 s: beyond any call's deadline.
    quota = {"RATE_LIMITS__EMAIL__PER_SECOND": "0.001", "RATE_LIMITS__EMAIL__BURST": "1"}
    async with tenants_gateway(tmp_path, monkeypatch, relays, **quota) as tenants:
        gw = tenants.gw
        await gw.stub.Execute(send("report-1"), metadata=as_agent("acme"), timeout=5)
        seen = await refused(gw, "acme", "report-2")
        assert (seen.code, seen.reason) == (
            grpc.StatusCode.RESOURCE_EXHAUSTED,
            "RATE_LIMITED",
        )
        assert seen.metadata["connector_key"] == "email"
        assert seen.retry_delay_ms is not None
        assert seen.retry_delay_ms > 900_000
        assert len(tenants.acme_relay.messages) == 1

        # The default tenant's quota is its own (the vendor's published one).
        for n in range(3):
            await gw.stub.Execute(send(f"report-{n}"), metadata=as_agent("default"), timeout=5)
        assert len(tenants.default_relay.messages) == 3
        limited = [r for r in gw.audit_rows() if r["reason"] == "RATE_LIMITED"]
        assert [(r["tenant"], r["caller"]) for r in limited] == [("acme", "agent-acme")]
