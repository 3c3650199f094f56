"""Operators disable and enable a connector: over the CLI, gRPC and HTTP, audited, refused to
anyone else, lasting across a restart; a disabled connector refuses its calls and shows
``disabled`` on the board and NOT_SERVING in the standard health service."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from grpc_health.v1 import health_pb2, health_pb2_grpc

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.contract import ProbeResult
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.cli import run_cli_at
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import OPERATOR, call, csrf_token
from tests.support.readme import readme_steps
from tests.support.rpc import refusal
from tests.support.waiting import wait_event

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
AS_OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
BOARD = "/api/v1/connectors/governance"
NOT_SERVING = health_pb2.HealthCheckResponse.NOT_SERVING
UNKNOWN = health_pb2.HealthCheckResponse.UNKNOWN


def echo(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


async def refused_reason(gw: RunningGateway, request: pb.ExecuteRequest) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, metadata=AGENT, timeout=10)
    return refusal(caught.value).reason


async def board_entry(gw: RunningGateway) -> dict[str, Any]:
    got = await call(gw, "GET", BOARD)
    assert got.status == 200, got
    [entry] = got.body["connectors"]
    return dict(entry)


async def serving(gw: RunningGateway) -> int:
    stub = health_pb2_grpc.HealthStub(gw.channel)
    answer = await stub.Check(health_pb2.HealthCheckRequest(service="connector.fake"), timeout=5)
    return answer.status


def rows_of(gw: RunningGateway, event_type: str) -> list[dict[str, Any]]:
    return [r for r in gw.audit_rows() if r["event_type"] == event_type]


def settings_at(data_dir: Path) -> Settings:
    return gateway_settings(data_dir)


async def test_the_cli_disables_and_enables_a_connector(tmp_path: Path) -> None:
    fake = FakeAdapter()
    async with running_gateway(
        settings_at(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        ran = await run_cli_at(gw, "connectors", "disable", "fake", "--reason", "vendor incident")
        assert ran.returncode == 0, ran.stderr
        assert "disabled fake" in ran.stdout
        assert await refused_reason(gw, echo("k1")) == "CONNECTOR_DISABLED"
        assert fake.calls == []
        entry = await board_entry(gw)
        assert (entry["status"], entry["disabled_reason"], entry["disabled_by"]) == (
            "CONNECTOR_STATUS_DISABLED",
            "vendor incident",
            "local-operator",
        )
        assert entry["disabled_at"] is not None
        assert await serving(gw) == NOT_SERVING
        shown = await run_cli_at(gw, "health", "fake")
        assert "disabled" in shown.stdout

        ran = await run_cli_at(gw, "connectors", "enable", "fake", "--reason", "resolved")
        assert ran.returncode == 0, ran.stderr
        assert "enabled fake: status unknown" in ran.stdout
        await gw.stub.Execute(echo("k1"), metadata=AGENT, timeout=10)
        assert len(fake.calls) == 1
        entry = await board_entry(gw)
        assert (entry["status"], entry["disabled_reason"], entry["disabled_at"]) == (
            "CONNECTOR_STATUS_OK",
            "",
            None,
        )
        [disabled] = rows_of(gw, "connector_disabled")
        [enabled] = rows_of(gw, "connector_enabled")
    for row, note in ((disabled, "vendor incident"), (enabled, "resolved")):
        assert (row["caller"], row["connector_key"], row["outcome"]) == (
            "local-operator",
            "fake",
            "succeeded",
        )
        assert json.loads(row["detail"])["note"] == note


async def test_grpc_switches_are_for_operators_and_say_why(tmp_path: Path) -> None:
    async with running_gateway(
        settings_at(tmp_path), connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        request = pb.DisableConnectorRequest(connector_key="fake", reason="compliance review")
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.DisableConnector(request, metadata=AGENT, timeout=5)
        assert refusal(caught.value).reason == "OPERATOR_REQUIRED"
        [row] = rows_of(gw, "request_rejected")
        assert (row["caller"], row["reason"], row["rpc_method"]) == (
            "local-agent",
            "OPERATOR_REQUIRED",
            "DisableConnector",
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.DisableConnector(
                pb.DisableConnectorRequest(connector_key="fake", reason="  "),
                metadata=AS_OPERATOR,
                timeout=5,
            )
        assert (refusal(caught.value).reason, refusal(caught.value).violations[0][0]) == (
            "MISSING_FIELD",
            "reason",
        )
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.EnableConnector(
                pb.EnableConnectorRequest(connector_key="nope"), metadata=AS_OPERATOR, timeout=5
            )
        assert refusal(caught.value).reason == "CONNECTOR_NOT_FOUND"
        assert (await board_entry(gw))["status"] == "CONNECTOR_STATUS_UNKNOWN"  # unchanged

        disabled = await gw.stub.DisableConnector(request, metadata=AS_OPERATOR, timeout=5)
        assert disabled.connector.status == pb.CONNECTOR_STATUS_DISABLED
        assert disabled.connector.disabled_reason == "compliance review"
        [row] = rows_of(gw, "connector_disabled")
        assert disabled.audit_event_id == row["event_id"]
        enabled = await gw.stub.EnableConnector(
            pb.EnableConnectorRequest(connector_key="fake"), metadata=AS_OPERATOR, timeout=5
        )
        assert enabled.connector.status == pb.CONNECTOR_STATUS_UNKNOWN  # nothing seen yet
        assert await serving(gw) == UNKNOWN
        [row] = rows_of(gw, "connector_enabled")
        assert "note" not in json.loads(row["detail"])  # no reason given


async def test_http_switches_need_the_csrf_token_and_an_operator(tmp_path: Path) -> None:
    async with running_gateway(
        settings_at(tmp_path), connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        disable = "/api/v1/connectors/fake/disable"
        body = {"reason": "vendor incident"}
        without = await call(gw, "POST", disable, headers=OPERATOR, json=body)
        assert (without.status, without.reason) == (403, "CSRF_TOKEN_INVALID")
        assert rows_of(gw, "request_rejected")[-1]["reason"] == "CSRF_TOKEN_INVALID"
        agent = {DEV_CALLER_HEADER: "local-agent"}
        token = await csrf_token(gw, headers=agent)
        as_agent = await call(
            gw, "POST", disable, headers={**agent, "X-CSRF-Token": token}, json=body
        )
        assert (as_agent.status, as_agent.reason) == (403, "OPERATOR_REQUIRED")
        assert (await board_entry(gw))["status"] == "CONNECTOR_STATUS_UNKNOWN"
        await gw.stub.Execute(echo("k0"), metadata=AGENT, timeout=10)  # still runs

        token = await csrf_token(gw, headers=OPERATOR)
        done = await call(
            gw, "POST", disable, headers={**OPERATOR, "X-CSRF-Token": token}, json=body
        )
        assert done.status == 200, done
        assert done.body["connector"]["status"] == "CONNECTOR_STATUS_DISABLED"
        [row] = rows_of(gw, "connector_disabled")
        assert done.body["audit_event_id"] == row["event_id"]
        assert (row["rpc_method"], row["caller"]) == (f"HTTP POST {disable}", "local-operator")
        assert await refused_reason(gw, echo("k1")) == "CONNECTOR_DISABLED"

        enable = "/api/v1/connectors/fake/enable"
        again = await call(gw, "POST", enable, headers={**OPERATOR, "X-CSRF-Token": token})
        assert again.status == 200, again
        assert again.body["connector"]["disabled_reason"] == ""
        assert rows_of(gw, "connector_enabled")[-1]["caller"] == "local-operator"
        await gw.stub.Execute(echo("k1"), metadata=AGENT, timeout=10)


async def test_a_disabled_connector_stays_disabled_across_a_restart(tmp_path: Path) -> None:
    fake = FakeAdapter()
    async with running_gateway(
        settings_at(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        await gw.stub.DisableConnector(
            pb.DisableConnectorRequest(connector_key="fake", reason="until the audit ends"),
            metadata=AS_OPERATOR,
            timeout=5,
        )
    async with running_gateway(
        settings_at(tmp_path), connectors=[Connector(fake, registered=True)]
    ) as gw:
        assert await serving(gw) == NOT_SERVING
        entry = await board_entry(gw)
        assert (entry["status"], entry["disabled_reason"]) == (
            "CONNECTOR_STATUS_DISABLED",
            "until the audit ends",
        )
        assert await refused_reason(gw, echo("k1")) == "CONNECTOR_DISABLED"
        assert fake.calls == []


class Probed(FakeAdapter):
    """Counts its probes."""

    def __init__(self) -> None:
        super().__init__()
        self.probes = 0
        self.probed = asyncio.Event()

    async def health_check(self) -> ProbeResult:
        self.probes += 1
        self.probed.set()
        return await super().health_check()


async def test_a_disabled_connector_is_not_probed(tmp_path: Path) -> None:
    probed = Probed()
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings, connectors=[Connector(probed, registered=True)]) as gw:
        await wait_event(probed.probed, what="the round of probes at start")
        assert probed.probes == 1
        await gw.stub.DisableConnector(
            pb.DisableConnectorRequest(connector_key="fake", reason="quiet"),
            metadata=AS_OPERATOR,
            timeout=5,
        )
        await gw.gateway.prober.probe_all()
        assert probed.probes == 1
        await gw.stub.EnableConnector(
            pb.EnableConnectorRequest(connector_key="fake"), metadata=AS_OPERATOR, timeout=5
        )
        await gw.gateway.prober.probe_all()
        assert probed.probes == 2


async def test_the_readme_switches_a_connector_off_and_on(tmp_path: Path) -> None:
    disable, health, enable = readme_steps("connectors disable")
    async with running_gateway(gateway_settings(tmp_path)) as gw:  # email at its sandbox
        for step in (disable, health):
            ran = await run_cli_at(gw, *step.command)
            assert ran.returncode == 0, ran.stderr
            step.assert_printed(ran.stdout)
        assert await refused_reason(gw, send_email()) == "CONNECTOR_DISABLED"
        ran = await run_cli_at(gw, *enable.command)
        assert ran.returncode == 0, ran.stderr
        enable.assert_printed(ran.stdout)
        assert await refused_reason(gw, send_email()) == "APPROVAL_REQUIRED"  # as before
        [row] = rows_of(gw, "connector_disabled")
        assert (row["connector_key"], json.loads(row["detail"])) == (
            "email",
            {"note": disable.command[-1], "sandbox": "true"},
        )


def send_email() -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key="e1")
    request.payload.update({"to": ["a@example.com"], "subject": "Hi", "text": "Hello"})
    return request
