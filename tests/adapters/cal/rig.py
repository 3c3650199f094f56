"""A real gateway whose ``cal`` account points at a recorded vendor: Prism serving Cal.com's
published description (asked for a status with ``Prefer``), or the fake that keeps
bookings. Class B calls go through a person's approval as an agent's would."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.cal.fake_cal import API_KEY
from tests.integration.reasons.observe import AGENT, OPERATOR, Observed, approvals, refused_rpc
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.prefer_proxy import PreferProxy
from tests.support.prism import PrismServers
from tests.support.vendor_recorder import VendorRecorder
from tests.support.vendor_schema import VendorSchema

CAL_SPEC = "calcom/openapi.v2.bookings-slots-event-types.json"
CAL_PRISM = "calcom/openapi.v2.bookings-slots-event-types.prism.json"


def faithful() -> VendorSchema:
    """Cal.com's description as published (not the Prism variant)."""
    return VendorSchema.load(CAL_SPEC)


def execute(operation: str, payload: dict[str, Any], key: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="cal", operation=operation, idempotency_key=key)
    request.payload.update(payload)
    return request


@dataclass
class CalRig:
    gw: RunningGateway
    vendor: VendorRecorder
    prefer: PreferProxy | None = None

    async def refused(self, request: pb.ExecuteRequest) -> Observed:
        return await refused_rpc(self.gw.stub.Execute(request, metadata=AGENT, timeout=20), self.gw)

    async def run(self, request: pb.ExecuteRequest) -> pb.ExecuteResponse:
        answer: pb.ExecuteResponse = await self.gw.stub.Execute(request, metadata=AGENT, timeout=20)
        return answer

    async def grant(self, approval_id: str) -> None:
        await approvals(self.gw).ApproveApproval(
            apb.ApproveApprovalRequest(approval_id=approval_id, note="fine"),
            metadata=OPERATOR,
            timeout=10,
        )

    async def approved(self, request: pb.ExecuteRequest) -> pb.ExecuteRequest:
        """``request`` with a granted approval: asked for (the vendor hears nothing), then
        granted by an operator."""
        seen = await self.refused(request)
        assert seen.reason == "APPROVAL_REQUIRED", seen
        await self.grant(seen.metadata["approval_id"])
        with_approval = pb.ExecuteRequest()
        with_approval.CopyFrom(request)
        with_approval.approval_id = seen.metadata["approval_id"]
        return with_approval

    async def compensate(self, execution_id: str, key: str) -> pb.CompensateResponse:
        """Undoes an execution through its own approval (the undo of a class B action is
        class B)."""
        request = pb.CompensateRequest(
            execution_id=execution_id, reason="the customer called", idempotency_key=key
        )
        seen = await refused_rpc(
            self.gw.stub.Compensate(request, metadata=AGENT, timeout=20), self.gw
        )
        assert seen.reason == "APPROVAL_REQUIRED", seen
        await self.grant(seen.metadata["approval_id"])
        request.approval_id = seen.metadata["approval_id"]
        answer: pb.CompensateResponse = await self.gw.stub.Compensate(
            request, metadata=AGENT, timeout=20
        )
        return answer

    def outcomes(self) -> list[tuple[str, str, str]]:
        """(event, outcome, reason) of each audit row but the requested ones."""
        return [
            (r["event_type"], r["outcome"], r["reason"])
            for r in self.gw.audit_rows()
            if r["outcome"] != "requested"
        ]


def _settings(tmp_path: Path, base_url: str, **overrides: Any) -> Any:
    return gateway_settings(
        tmp_path,
        cal={"base_url": base_url, "api_key": API_KEY},
        reliability={
            "backoff_scale": 0.001,
            "rate_limits": {"cal": {"per_second": 1000, "burst": 1000}},
        },
        **overrides,
    )


@asynccontextmanager
async def prism_rig(tmp_path: Path, prism: PrismServers, **settings: Any) -> AsyncIterator[CalRig]:
    """The gateway in front of Prism serving Cal.com's description."""
    async with (
        PreferProxy(prism.url(CAL_PRISM)) as prefer,
        VendorRecorder(prefer.url) as vendor,
        running_gateway(_settings(tmp_path, vendor.url, **settings)) as gw,
    ):
        yield CalRig(gw, vendor, prefer)


@asynccontextmanager
async def recorded_rig(tmp_path: Path, upstream: str, **settings: Any) -> AsyncIterator[CalRig]:
    """The gateway in front of ``upstream`` (the fake that keeps bookings)."""
    async with (
        VendorRecorder(upstream) as vendor,
        running_gateway(_settings(tmp_path, vendor.url, **settings)) as gw,
    ):
        yield CalRig(gw, vendor)
