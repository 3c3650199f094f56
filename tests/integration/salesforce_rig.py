"""A gateway whose default tenant's Salesforce account is a fake org on loopback, and the
agent's and operator's moves: class A calls, class B calls through a person's approval,
and undos through approval too."""

from __future__ import annotations

from collections.abc import AsyncIterator, Mapping
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.markers import action_marker
from tests.adapters.salesforce.kit import MARKER_FIELDS, Org, salesforce_org, signing_key
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import Refusal, refusal

AGENT = ((DEV_CALLER_HEADER, "local-agent"),)
OPERATOR = ((DEV_CALLER_HEADER, "local-operator"),)
READS = frozenset({"get_record", "query"})


@dataclass
class Rig:
    gw: RunningGateway
    org: Org
    approvals_asked: list[str] = field(default_factory=list)

    @property
    def approvals(self) -> apb_grpc.ApprovalServiceStub:
        return apb_grpc.ApprovalServiceStub(self.gw.channel)

    async def approve(self, approval_id: str) -> None:
        granted = await self.approvals.ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id, note="looks right"),
            metadata=OPERATOR,
            timeout=5,
        )
        assert granted.approval.status == apb.APPROVAL_STATUS_GRANTED

    async def execute(
        self, operation: str, payload: Mapping[str, Any], key: str = "", approval_id: str = ""
    ) -> pb.ExecuteResponse:
        """One Execute as the agent sends it (no approval step)."""
        request = pb.ExecuteRequest(
            connector_key="salesforce",
            operation=operation,
            idempotency_key=key,
            approval_id=approval_id,
        )
        request.payload.update(dict(payload))
        return await self.gw.stub.Execute(request, metadata=AGENT, timeout=10)

    async def run(
        self, operation: str, payload: Mapping[str, Any], key: str = ""
    ) -> pb.ExecuteResponse:
        """A class A call at once; a class B call asked for, approved by a person, then sent
        again with its approval."""
        if operation in READS:
            return await self.execute(operation, payload)
        approval_id = await self.ask(operation, payload, key)
        await self.approve(approval_id)
        return await self.execute(operation, payload, key, approval_id)

    async def ask(self, operation: str, payload: Mapping[str, Any], key: str) -> str:
        asked = await self.refused(self.execute(operation, payload, key))
        assert asked.reason == "APPROVAL_REQUIRED", asked
        self.approvals_asked.append(asked.metadata["approval_id"])
        return asked.metadata["approval_id"]

    async def undo(self, execution_id: str, key: str) -> pb.CompensateResponse:
        """Compensate, through a person's approval like any class B action."""
        request = pb.CompensateRequest(
            execution_id=execution_id, reason="the customer asked", idempotency_key=key
        )
        asked = await self.refused(self.gw.stub.Compensate(request, metadata=AGENT, timeout=10))
        assert asked.reason == "APPROVAL_REQUIRED", asked
        await self.approve(asked.metadata["approval_id"])
        request.approval_id = asked.metadata["approval_id"]
        return await self.gw.stub.Compensate(request, metadata=AGENT, timeout=10)

    async def compensate_again(self, execution_id: str, key: str) -> pb.CompensateResponse:
        request = pb.CompensateRequest(
            execution_id=execution_id, reason="asked twice", idempotency_key=key
        )
        return await self.gw.stub.Compensate(request, metadata=AGENT, timeout=10)

    @staticmethod
    async def refused(call: Any) -> Refusal:
        try:
            await call
        except grpc.aio.AioRpcError as error:
            return refusal(error)
        raise AssertionError("the call was not refused")

    def events(self) -> list[str]:
        return [row["event_type"] for row in self.gw.audit_rows()]


def marker(operation: str, key: str) -> str:
    """What the gateway writes into the marker field for the agent's ``key``."""
    return action_marker("default", "local-agent", "salesforce", operation, key)


def account_settings(org: Org, **overrides: Any) -> dict[str, Any]:
    account: dict[str, Any] = {
        "login_url": org.fake.login_url,
        "consumer_key": org.fake.consumer_key,
        "username": org.fake.username,
        "private_key": signing_key().private_pem,
        "external_id_fields": dict(MARKER_FIELDS),
    }
    account.update(overrides)
    return account


@asynccontextmanager
async def salesforce_gateway(tmp_path: Path, **settings: Any) -> AsyncIterator[Rig]:
    async with salesforce_org() as org:
        config = gateway_settings(tmp_path, salesforce=account_settings(org), **settings)
        async with running_gateway(config) as gw:
            yield Rig(gw, org)
