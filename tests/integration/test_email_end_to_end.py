"""The real gateway on loopback sending through a real SMTP server (aiosmtpd)."""

from __future__ import annotations

import sqlite3
from pathlib import Path
from typing import Any

import grpc
import pytest

from adapters.email.account import EmailAccount
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.settings import Settings
from tests.support.cli import Ran, run_cli
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.smtp_peers import ScriptedSmtpPeer, SmtpPeer, free_port

# email.send is class B; a local development configuration may try it as class A.
TRY_EMAIL_AS_A = {"allow_loosening": True, "overrides": {"email.send": "A"}}


def email_settings(tmp_path: Path, email: EmailAccount, **extra: Any) -> Settings:
    return gateway_settings(tmp_path, email=email.model_dump(), policy=TRY_EMAIL_AS_A, **extra)


def send_request(key: str = "mail-1") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key=key)
    request.payload.update(
        {
            "to": ["ops@example.com"],
            "subject": "Quarterly report",
            "text": "The numbers are in.",
        }
    )
    return request


async def cli(settings: Settings, *args: str) -> Ran:
    return await run_cli(*args, data_dir=settings.data_dir)


async def test_send_delivers_audits_and_verifies(tmp_path: Path, smtp_server: SmtpPeer) -> None:
    settings = email_settings(tmp_path, smtp_server.settings())
    async with running_gateway(settings) as gw:
        response = await gw.stub.Execute(send_request(), timeout=10)
        [received] = smtp_server.messages
        message = received.message
        assert message["From"] == "Gateway <gateway@example.com>"
        assert message["To"] == "ops@example.com"
        assert message["Subject"] == "Quarterly report"
        assert message.get_content().strip() == "The numbers are in."
        assert list(received.rcpt_tos) == ["ops@example.com"]
        assert response.attempts == 1
        assert response.result["message_id"] == message["Message-ID"]
        rows = gw.audit_rows()
        assert [r["event_type"] for r in rows] == ["execution_requested", "message_sent"]
        assert rows[1]["event_id"] == response.audit_event_id
        assert rows[1]["execution_id"] == response.execution_id
        assert rows[1]["status_code"] == "OK"
        assert rows[1]["payload_digest"] == rows[0]["payload_digest"] != ""
        # Confidential payloads keep only their shape in the audit trail.
        assert "Quarterly report" not in rows[1]["payload_redacted"]
        health = await gw.stub.Health(pb.HealthRequest(connector_key="email"), timeout=5)
        assert health.connectors[0].status == pb.CONNECTOR_STATUS_OK
        assert health.connectors[0].HasField("last_success_at")

    verified = await cli(settings, "audit", "verify")
    assert verified.returncode == 0, verified.stdout + verified.stderr
    assert "intact: 2 rows" in verified.stdout

    with sqlite3.connect(settings.database_path) as conn:
        conn.execute("UPDATE audit_events SET status_code = 'UNAVAILABLE' WHERE seq = 2")
    broken = await cli(settings, "audit", "verify", "--json")
    assert broken.returncode == 1
    assert '"first_broken_seq": 2' in broken.stdout


async def test_smtp_server_down_is_unavailable_and_marks_health(tmp_path: Path) -> None:
    down = EmailAccount(
        host="127.0.0.1", port=free_port(), security="none", from_address="gateway@example.com"
    )
    settings = email_settings(tmp_path, down)
    async with running_gateway(settings) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(send_request(), timeout=10)
        seen = refusal(caught.value)
        assert seen.code == grpc.StatusCode.UNAVAILABLE
        assert seen.reason == "VENDOR_UNAVAILABLE"
        # Refused connections never reached the relay: retried as declared, then answered.
        assert seen.metadata["attempts"] == "4"
        assert seen.metadata["retries_stopped"] == "retries_exhausted"
        rows = gw.audit_rows()
        assert [r["event_type"] for r in rows] == ["execution_requested", "message_failed"]
        assert (rows[1]["status_code"], rows[1]["reason"]) == ("UNAVAILABLE", "VENDOR_UNAVAILABLE")
        assert rows[1]["attempts"] == 4
        email = next(
            h
            for h in (await gw.stub.Health(pb.HealthRequest(), timeout=5)).connectors
            if h.connector_key == "email"
        )
        assert email.status == pb.CONNECTOR_STATUS_ERROR
        assert email.last_error.startswith("VENDOR_UNAVAILABLE")
        assert email.HasField("last_attempt_at")
        assert not email.HasField("last_success_at")


async def test_stalled_server_gets_the_gateways_deadline_and_is_closed(
    tmp_path: Path, stalled_smtp_server: ScriptedSmtpPeer
) -> None:
    # The reserve must cover an fsync'd audit commit plus the reply; on a shared machine
    # under load the 50 ms default is tight, so this test gives it 1 s of the 2.
    settings = email_settings(tmp_path, stalled_smtp_server.settings(), deadline_reserve_ms=1000)
    async with running_gateway(settings) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(send_request(), timeout=2.0)
        seen = refusal(caught.value)
        # The gateway's own answer (with ErrorInfo), so before the client's timer fired.
        assert seen.code == grpc.StatusCode.DEADLINE_EXCEEDED
        assert seen.reason == "DEADLINE_EXCEEDED"
        assert seen.metadata["attempts"] == "1"
        # The stalled connection was closed by the gateway: seen on the server side.
        await stalled_smtp_server.wait_closed(timeout_s=10.0)
        assert stalled_smtp_server.connections == 1
        rows = gw.audit_rows()
        assert [r["event_type"] for r in rows] == ["execution_requested", "message_failed"]
        assert rows[1]["status_code"] == "DEADLINE_EXCEEDED"
        assert rows[1]["attempts"] == 1


async def test_cli_lists_describes_calls_and_reports_health(
    tmp_path: Path, smtp_server: SmtpPeer
) -> None:
    # A WhatsApp account without its access token: the connector is not configured.
    whatsapp = {"phone_number_id": "106540352242922"}
    settings = email_settings(tmp_path, smtp_server.settings(), whatsapp=whatsapp)
    async with running_gateway(settings) as gw:
        address = ("--address", gw.address)
        listed = await cli(settings, *address, "connectors", "list")
        assert listed.returncode == 0, listed.stderr
        for key in ("email", "whatsapp", "salesforce", "stripe", "voice", "contract_intel", "cal"):
            assert key in listed.stdout
        assert "واتساب بيزنس" in listed.stdout
        described = await cli(settings, *address, "connectors", "describe", "email", "--json")
        assert '"name": "send"' in described.stdout
        called = await cli(
            settings,
            *address,
            "call",
            "email",
            "send",
            "--payload",
            '{"to": ["cli@example.com"], "subject": "From the CLI", "text": "hello"}',
        )
        assert called.returncode == 0, called.stderr
        assert smtp_server.messages[-1].message["Subject"] == "From the CLI"
        refused = await cli(settings, *address, "call", "email", "send", "--payload", '{"to": []}')
        assert refused.returncode == 1
        assert "INVALID_ARGUMENT" in refused.stderr
        assert "reason: INVALID_PAYLOAD" in refused.stderr
        health = await cli(settings, *address, "health")
        assert health.returncode == 0
        email_line = next(line for line in health.stdout.splitlines() if line.startswith("email"))
        assert " ok " in email_line
        whatsapp_line = next(
            line for line in health.stdout.splitlines() if line.startswith("whatsapp")
        )
        assert "not_configured" in whatsapp_line
