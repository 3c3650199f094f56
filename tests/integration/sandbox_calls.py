"""One connector of a running gateway, called as the development agent and operator: class A
calls at once, class B calls and undos through the operator's approval, the connector's
description and health (gRPC and ``connector-gateway health``), and what its sandbox shows
(ShowSandbox and ``connector-gateway sandbox show``)."""

from __future__ import annotations

from collections.abc import Awaitable, Mapping
from dataclasses import dataclass
from typing import Any

import grpc
from google.protobuf import json_format

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import sandbox_service_pb2 as spb
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from tests.integration.test_no_leaks import database_texts, span_texts
from tests.support.cli import run_cli_at
from tests.support.gateway import RunningGateway
from tests.support.rpc import Refusal, refusal
from tests.support.waiting import wait_until

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
TIMEOUT_S = 10


@dataclass
class Connector:
    gw: RunningGateway
    key: str

    async def execute(
        self, operation: str, payload: Mapping[str, Any], key: str = "", approval_id: str = ""
    ) -> pb.ExecuteResponse:
        request = pb.ExecuteRequest(
            connector_key=self.key,
            operation=operation,
            idempotency_key=key,
            approval_id=approval_id,
        )
        request.payload.update(dict(payload))
        answer: pb.ExecuteResponse = await self.gw.stub.Execute(
            request, metadata=AGENT, timeout=TIMEOUT_S
        )
        return answer

    @staticmethod
    async def refused(call: Awaitable[Any]) -> Refusal:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            return refusal(error)
        raise AssertionError("the call was not refused")

    async def approval(self, operation: str, payload: Mapping[str, Any], key: str) -> str:
        """Asks for a class B call; the operator approves it; its approval id."""
        asked = await self.refused(self.execute(operation, payload, key))
        assert asked.reason == "APPROVAL_REQUIRED", asked
        approval_id: str = asked.metadata["approval_id"]
        await self.approve(approval_id)
        return approval_id

    async def approve(self, approval_id: str) -> None:
        granted = await apb_grpc.ApprovalServiceStub(self.gw.channel).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id, note="ok"),
            metadata=OPERATOR,
            timeout=TIMEOUT_S,
        )
        assert granted.approval.status == apb.APPROVAL_STATUS_GRANTED

    async def undo(self, execution_id: str, key: str) -> pb.CompensateResponse:
        """Compensate, through the operator's approval like any class B action."""
        request = pb.CompensateRequest(
            execution_id=execution_id, reason="done by mistake", idempotency_key=key
        )
        asked = await self.refused(
            self.gw.stub.Compensate(request, metadata=AGENT, timeout=TIMEOUT_S)
        )
        assert asked.reason == "APPROVAL_REQUIRED", asked
        await self.approve(asked.metadata["approval_id"])
        request.approval_id = asked.metadata["approval_id"]
        answer: pb.CompensateResponse = await self.gw.stub.Compensate(
            request, metadata=AGENT, timeout=TIMEOUT_S
        )
        return answer

    async def health(self) -> pb.ConnectorHealth:
        answer = await self.gw.stub.Health(
            pb.HealthRequest(connector_key=self.key), metadata=AGENT, timeout=TIMEOUT_S
        )
        [entry] = answer.connectors
        return entry

    async def ok(self) -> pb.ConnectorHealth:
        """The connector's health once a probe has passed."""

        async def passed() -> pb.ConnectorHealth | None:
            entry = await self.health()
            return entry if entry.status == pb.CONNECTOR_STATUS_OK else None

        return await wait_until(passed, what=f"{self.key} ok")

    async def described(self) -> pb.ConnectorDescriptor:
        answer: pb.DescribeConnectorResponse = await self.gw.stub.DescribeConnector(
            pb.DescribeConnectorRequest(connector_key=self.key), metadata=AGENT, timeout=TIMEOUT_S
        )
        return answer.connector

    async def shown(self) -> list[dict[str, Any]]:
        answer = await spb_grpc.SandboxServiceStub(self.gw.channel).ShowSandbox(
            spb.ShowSandboxRequest(connector_key=self.key), metadata=OPERATOR, timeout=TIMEOUT_S
        )
        return [json_format.MessageToDict(record) for record in answer.received]

    async def not_sandboxed(self) -> Refusal:
        return await self.refused(
            spb_grpc.SandboxServiceStub(self.gw.channel).ShowSandbox(
                spb.ShowSandboxRequest(connector_key=self.key), metadata=OPERATOR, timeout=5
            )
        )

    async def cli_shown(self) -> list[str]:
        """The lines ``connector-gateway sandbox show KEY`` prints."""
        ran = await run_cli_at(self.gw, "sandbox", "show", self.key)
        assert ran.returncode == 0, ran.stderr
        return ran.stdout.splitlines()

    async def cli_health(self) -> list[str]:
        """The words of the connector's one row in what ``connector-gateway health`` prints."""
        ran = await run_cli_at(self.gw, "health")
        lines = ran.stdout.splitlines()
        [row] = [line.split() for line in lines if line.startswith(f"{self.key} ")]
        return row


def key_lines(pem: str) -> list[str]:
    """The lines of a PEM key that are the key itself (its header and footer are public)."""
    return [line for line in pem.splitlines() if line and "-----" not in line]


def leaked(gw: RunningGateway, secrets: list[str], *more: str) -> list[str]:
    """The secrets found in the gateway's database, its spans, or ``more`` (logs, output)."""
    texts = [*database_texts(gw.gateway.settings.database_path), *span_texts(gw), *more]
    return [secret[:12] for secret in secrets if any(secret in text for text in texts)]


def result(answer: pb.ExecuteResponse) -> dict[str, Any]:
    value: dict[str, Any] = json_format.MessageToDict(answer.result)
    return value
