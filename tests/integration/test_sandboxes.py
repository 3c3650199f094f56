"""A connector without a vendor account for a tenant runs, for that tenant, against an
in-process sandbox of its vendor: the real adapter, pointed at loopback with the tenant's own
sandbox credentials. It is marked sandbox wherever it appears (descriptions, health over gRPC,
the CLI and HTTP, metrics, audit rows); configuring an account takes it to the vendor; enforced
mode runs no sandbox unless told to; a configured fault makes the sandbox fail on purpose."""

from __future__ import annotations

import dataclasses
import json
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from adapters.plugins import PLUGINS
from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from connectorgateway.v1 import sandbox_service_pb2 as spb
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from gateway.app import Gateway
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.settings import settings_model
from tests.support.cli import run_cli_at
from tests.support.documented_errors import documented_reasons
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import call
from tests.support.rpc import Refusal, refusal
from tests.support.smtp_peers import SmtpPeer
from tests.support.tokens import token_kit
from tests.support.waiting import wait_until
from tests.toy_connector import PLUGIN as TOY

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
PAYLOAD = {"to": ["a@example.com"], "subject": "Hi", "text": "Hello"}
TRY_EMAIL_AS_A = {"allow_loosening": True, "overrides": {"email.send": "A"}}
WITH_TOY = (*PLUGINS, TOY)
SANDBOXED = {plugin.key for plugin in PLUGINS if plugin.sandbox is not None}
ToySettings = settings_model(WITH_TOY)
Metadata = tuple[tuple[str, str], ...]


def send(key: str, approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="email", operation="send", idempotency_key=key, approval_id=approval_id
    )
    request.payload.update(PAYLOAD)
    return request


async def refused(call: Any) -> Refusal:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    return refusal(caught.value)


async def health_of(gw: RunningGateway, key: str, metadata: Metadata = AGENT) -> pb.ConnectorHealth:
    health = await gw.stub.Health(pb.HealthRequest(connector_key=key), metadata=metadata, timeout=5)
    [entry] = health.connectors
    return entry


async def shown(gw: RunningGateway, key: str, metadata: Metadata = OPERATOR) -> list[Any]:
    answer = await spb_grpc.SandboxServiceStub(gw.channel).ShowSandbox(
        spb.ShowSandboxRequest(connector_key=key), metadata=metadata, timeout=5
    )
    assert answer.connector_key == key
    return [json_format.MessageToDict(record) for record in answer.received]


def detail(row: dict[str, Any]) -> dict[str, str]:
    value: dict[str, str] = json.loads(str(row["detail"]))
    return value


async def states(gw: RunningGateway) -> dict[str, tuple[int, bool, bool]]:
    """Every connector's (status, sandbox, configured) as the default tenant sees it."""
    health = await gw.stub.Health(pb.HealthRequest(), metadata=AGENT, timeout=5)
    listed = await gw.stub.ListConnectors(pb.ListConnectorsRequest(), metadata=AGENT, timeout=5)
    configured = {c.key: c.configured for c in listed.connectors}
    return {
        h.connector_key: (h.status, h.sandbox, configured[h.connector_key])
        for h in health.connectors
    }


async def test_on_a_fresh_data_directory_every_connector_is_ok_at_its_sandbox(
    tmp_path: Path,
) -> None:
    """What a new user sees first: all seven connectors callable, each at its sandbox."""
    assert {plugin.key for plugin in PLUGINS} == SANDBOXED
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings) as gw:

        async def all_ok() -> dict[str, tuple[int, bool]] | None:
            answer = await gw.stub.Health(pb.HealthRequest(), metadata=AGENT, timeout=10)
            states = {c.connector_key: (c.status, c.sandbox) for c in answer.connectors}
            ok = all(state == (pb.CONNECTOR_STATUS_OK, True) for state in states.values())
            return states if ok else None

        states = await wait_until(all_ok, what="every connector ok at its sandbox")
        assert set(states) == SANDBOXED
        listed = await gw.stub.ListConnectors(pb.ListConnectorsRequest(), metadata=AGENT)
        assert {(c.key, c.configured, c.sandbox) for c in listed.connectors} == {
            (key, True, True) for key in SANDBOXED
        }


async def test_on_a_fresh_data_directory_email_runs_sandboxed_through_approval(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    # No configuration at all, but the start-up probe (the first runs as the gateway starts).
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    with caplog.at_level(logging.INFO, logger="gateway.sandboxes"):
        async with running_gateway(settings) as gw:
            [started] = [r for r in caplog.records if r.name == "gateway.sandboxes"]
            assert started.levelno == logging.INFO  # development mode
            assert "running sandboxed" in started.getMessage()
            assert "email (tenants default)" in started.getMessage()

            async def email_ok() -> pb.ConnectorHealth | None:
                entry = await health_of(gw, "email")
                return entry if entry.status == pb.CONNECTOR_STATUS_OK else None

            health = await wait_until(email_ok, what="email ok after the start-up probe")
            assert health.sandbox
            described = await gw.stub.DescribeConnector(
                pb.DescribeConnectorRequest(connector_key="email"), metadata=AGENT, timeout=5
            )
            assert (described.connector.configured, described.connector.sandbox) == (True, True)
            listed = await gw.stub.ListConnectors(
                pb.ListConnectorsRequest(), metadata=AGENT, timeout=5
            )
            assert [c.key for c in listed.connectors if c.sandbox] == sorted(SANDBOXED)
            board = await call(
                gw, "GET", "/v1/connectors/health", headers={DEV_CALLER_HEADER: "local-agent"}
            )
            [email] = [c for c in board.body["connectors"] if c["connector_key"] == "email"]
            assert (email["status"], email["sandbox"]) == ("CONNECTOR_STATUS_OK", True)
            assert await shown(gw, "email") == []

            # email.send asks for an approval, is approved by the operator, runs once.
            asked = await refused(gw.stub.Execute(send("first"), metadata=AGENT, timeout=5))
            assert asked.reason == "APPROVAL_REQUIRED"
            approval_id = asked.metadata["approval_id"]
            await apb_grpc.ApprovalServiceStub(gw.channel).ApproveApproval(
                apb.ApproveApprovalRequest(approval_id=approval_id),
                metadata=OPERATOR,
                timeout=5,
            )
            ran = await gw.stub.Execute(send("first", approval_id), metadata=AGENT, timeout=5)
            again = await gw.stub.Execute(send("first", approval_id), metadata=AGENT, timeout=5)
            assert (ran.attempts, ran.replayed, again.replayed) == (1, False, True)

            [message] = await shown(gw, "email")
            assert message["message_id"] == ran.result["message_id"]
            assert (message["to"], message["subject"], message["text"]) == (
                "a@example.com",
                "Hi",
                "Hello",
            )
            assert message["recipients"] == ["a@example.com"]

            rows = gw.audit_rows()
            assert [r["event_type"] for r in rows] == [
                "approval_requested",
                "approval_granted",
                "execution_requested",
                "message_sent",
                "execution_replayed",
            ]
            assert [detail(r).get("sandbox") for r in rows] == ["true"] * 5
            metrics = await gw.stub.Metrics(
                pb.MetricsRequest(connector_key="email"), metadata=AGENT, timeout=5
            )
            assert (metrics.connectors[0].calls, metrics.connectors[0].sandbox) == (1, True)

            # The CLI marks it too, and shows what the sandbox received.
            health_table = await run_cli_at(gw, "health")
            [row] = [
                line.split()
                for line in health_table.stdout.splitlines()
                if line.startswith("email ")
            ]
            assert row[1:3] == ["ok", "sandbox"]
            cli_shown = await run_cli_at(gw, "sandbox", "show", "email")
            assert cli_shown.returncode == 0, cli_shown.stderr
            lines = cli_shown.stdout.splitlines()
            assert lines[0] == "the email sandbox received 1 item, oldest first:"
            assert {"to: a@example.com", "subject: Hi", "text: Hello"} <= set(lines)
            assert f"message_id: {ran.result['message_id']}" in lines


async def test_configuring_an_account_takes_email_to_its_vendor_and_no_other_connector(
    tmp_path: Path, smtp_server: SmtpPeer
) -> None:
    NOT_CONFIGURED, UNKNOWN = pb.CONNECTOR_STATUS_NOT_CONFIGURED, pb.CONNECTOR_STATUS_UNKNOWN
    bare = gateway_settings(tmp_path, model=ToySettings, policy=TRY_EMAIL_AS_A)
    async with running_gateway(bare, plugins=WITH_TOY) as gw:
        await gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5)
        before = await states(gw)
    assert before["email"] == (pb.CONNECTOR_STATUS_OK, True, True)
    assert {key: before[key] for key in before if key != "email"} == {
        key: (UNKNOWN, True, True) if key in SANDBOXED | {"toy"} else (NOT_CONFIGURED, False, False)
        for key in before
        if key != "email"
    }

    account = smtp_server.settings().model_dump()
    configured = gateway_settings(tmp_path, model=ToySettings, policy=TRY_EMAIL_AS_A, email=account)
    async with running_gateway(configured, plugins=WITH_TOY) as gw:
        after = await states(gw)
        # The sandbox's results were never the relay's: nothing is known of it yet.
        assert after["email"] == (UNKNOWN, False, True)
        assert {k: v for k, v in after.items() if k != "email"} == {
            k: v for k, v in before.items() if k != "email"
        }
        assert "email" not in gw.gateway.sandboxes.running
        seen = await refused(
            spb_grpc.SandboxServiceStub(gw.channel).ShowSandbox(
                spb.ShowSandboxRequest(connector_key="email"), metadata=OPERATOR, timeout=5
            )
        )
        assert (seen.reason, seen.metadata) == ("NOT_SANDBOXED", {"connector_key": "email"})

        sent = await gw.stub.Execute(send("k2"), metadata=AGENT, timeout=5)
        [message] = smtp_server.messages
        assert message.message["Message-ID"] == sent.result["message_id"]
        # The trail tells the sandbox's message (first run) from the relay's.
        rows = [r for r in gw.audit_rows() if r["event_type"] == "message_sent"]
        assert [detail(r).get("sandbox") for r in rows] == ["true", None]
        assert (await health_of(gw, "email")).sandbox is False


async def test_enforced_mode_runs_no_sandbox_unless_allowed(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    kit = token_kit(tmp_path)
    agent = kit.metadata("agent-mail-only")  # tenant acme, may call email.*
    with caplog.at_level(logging.INFO, logger="gateway.sandboxes"):
        refusing = gateway_settings(tmp_path / "refusing", auth=kit.auth_settings())
        async with running_gateway(refusing) as gw:
            assert gw.gateway.sandboxes.running == {}
            health = await health_of(gw, "email", agent)
            assert (health.status, health.sandbox) == (pb.CONNECTOR_STATUS_NOT_CONFIGURED, False)
            seen = await refused(gw.stub.Execute(send("k1"), metadata=agent, timeout=5))
            assert seen.reason == "CONNECTOR_NOT_CONFIGURED"
    [said] = [r for r in caplog.records if r.name == "gateway.sandboxes"]
    assert said.levelno == logging.WARNING
    assert said.getMessage().startswith("enforced mode runs no sandbox: ")
    assert "email (tenants acme, default, globex)" in said.getMessage()
    assert "stay not_configured until their vendor accounts are configured" in said.getMessage()
    assert "sandbox.allow_in_enforced_mode = true" in said.getMessage()

    caplog.clear()
    with caplog.at_level(logging.INFO, logger="gateway.sandboxes"):
        allowing = gateway_settings(
            tmp_path / "allowing",
            auth=kit.auth_settings(),
            sandbox={"allow_in_enforced_mode": True},
        )
        async with running_gateway(allowing) as gw:
            health = await health_of(gw, "email", agent)
            assert (health.status, health.sandbox) == (pb.CONNECTOR_STATUS_UNKNOWN, True)
            asked = await refused(gw.stub.Execute(send("k1"), metadata=agent, timeout=5))
            assert asked.reason == "APPROVAL_REQUIRED"
            approval_id = asked.metadata["approval_id"]
            await apb_grpc.ApprovalServiceStub(gw.channel).ApproveApproval(
                apb.ApproveApprovalRequest(approval_id=approval_id),
                metadata=kit.metadata("ops-acme"),
                timeout=5,
            )
            await gw.stub.Execute(send("k1", approval_id), metadata=agent, timeout=5)
            # Each tenant's operators see their own tenant's sandbox, and only operators do.
            [message] = await shown(gw, "email", kit.metadata("ops-acme"))
            assert message["subject"] == "Hi"
            assert await shown(gw, "email", kit.metadata("ops-globex")) == []
            not_operator = await refused(
                spb_grpc.SandboxServiceStub(gw.channel).ShowSandbox(
                    spb.ShowSandboxRequest(connector_key="email"), metadata=agent, timeout=5
                )
            )
            assert not_operator.reason == "OPERATOR_REQUIRED"
    [said] = [r for r in caplog.records if r.name == "gateway.sandboxes"]
    assert said.levelno == logging.WARNING
    assert "running sandboxed" in said.getMessage()
    assert "email (tenants acme, default, globex)" in said.getMessage()


def as_class_a(tmp_path: Path, fail: dict[str, Any], **overrides: Any) -> Any:
    return gateway_settings(
        tmp_path, policy=TRY_EMAIL_AS_A, sandbox={"fail": {"email": fail}}, **overrides
    )


async def test_a_temporary_fault_is_retried_through(tmp_path: Path) -> None:
    async with running_gateway(
        as_class_a(tmp_path, {"status": 451, "at": "mail", "times": 2})
    ) as gw:
        ran = await gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5)
        assert ran.attempts == 3
        assert len(await shown(gw, "email")) == 1


async def test_a_refusing_fault_fails_the_call_with_the_documented_reason(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    # As an operator would set it: in the environment.
    monkeypatch.setenv("CONNECTOR_GATEWAY_SANDBOX__FAIL__EMAIL__STATUS", "550")
    monkeypatch.setenv("CONNECTOR_GATEWAY_SANDBOX__FAIL__EMAIL__AT", "rcpt")
    settings = gateway_settings(tmp_path, policy=TRY_EMAIL_AS_A)
    async with running_gateway(settings) as gw:
        seen = await refused(gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5))
        documented = documented_reasons()["VENDOR_REJECTED"]
        assert (seen.code, seen.reason) == (documented.code, "VENDOR_REJECTED")
        assert (seen.metadata["phase"], seen.metadata["vendor_code"]) == ("rcpt", "550")
        assert await shown(gw, "email") == []
        [row] = [r for r in gw.audit_rows() if r["event_type"] == "message_failed"]
        assert (row["reason"], detail(row)["sandbox"]) == ("VENDOR_REJECTED", "true")


async def test_a_lasting_fault_opens_the_circuit(tmp_path: Path) -> None:
    reliability = {"backoff_scale": 0.001, "breaker_failure_threshold": 2}
    settings = as_class_a(tmp_path, {"status": 421, "at": "mail"}, reliability=reliability)
    async with running_gateway(settings) as gw:
        first = await refused(gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5))
        assert (first.reason, first.metadata["attempts"]) == ("VENDOR_UNAVAILABLE", "2")
        second = await refused(gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5))
        assert second.reason == "CIRCUIT_OPEN"
        health = await health_of(gw, "email")
        assert (health.status, health.circuit_state, health.sandbox) == (
            pb.CONNECTOR_STATUS_ERROR,
            pb.CIRCUIT_STATE_OPEN,
            True,
        )


async def test_a_dropped_answer_leaves_an_unknown_outcome_the_sandbox_holds(
    tmp_path: Path,
) -> None:
    async with running_gateway(as_class_a(tmp_path, {"drop": True})) as gw:
        seen = await refused(gw.stub.Execute(send("k1"), metadata=AGENT, timeout=5))
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        listed = await epb_grpc.ExecutionServiceStub(gw.channel).ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=5,
        )
        assert [e.execution_id for e in listed.executions] == [seen.metadata["execution_id"]]
        [message] = await shown(gw, "email")  # the relay has it: only the answer was lost
        assert message["subject"] == "Hi"


@pytest.mark.parametrize(
    ("fail", "named"),
    [
        ({"toy": {"status": 500}}, "sandbox.fail.toy: no connector 'toy' has a sandbox"),
        ({"email": {"status": 500, "at": "helo"}}, "sandbox.fail.email.at must be one of"),
    ],
)
async def test_a_fault_no_sandbox_understands_stops_the_start(
    tmp_path: Path, fail: dict[str, Any], named: str
) -> None:
    without_sandbox = dataclasses.replace(TOY, sandbox=None)
    gateway = Gateway(
        gateway_settings(tmp_path, model=ToySettings, sandbox={"fail": fail}),
        plugins=(*PLUGINS, without_sandbox),
    )
    try:
        with pytest.raises(ValueError, match=named):
            await gateway.start()
    finally:
        await gateway.stop(grace_s=0)
