"""The ``bench`` connector: the loopback vendor (``bench.vendor``) behind the gateway's contract.

It calls the vendor through the shared ``VendorHttpClient``, as real HTTP vendor adapters do,
so the governed call pays for the same client, trace header and error mapping. Both
operations are class A, so no approval stands between the caller and the vendor.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from adapters.http import VendorHttpClient
from gateway.contract import (
    AttemptContext,
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    ProbeResult,
    RateLimit,
)
from gateway.errors import NotCompensable, UnknownOperation, VendorBadResponse
from gateway.payload_types import SafeInt
from gateway.registry import Connector

KEY = "bench"
READ = "get_item"
WRITE = "place_order"


class ItemQuery(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")


class OrderPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    item_id: str = Field(min_length=1, max_length=64, pattern=r"^[A-Za-z0-9_-]+$")
    quantity: SafeInt = Field(ge=1, le=1000)


BENCH_METADATA = ConnectorMetadata(
    key=KEY,
    display_name="Loopback bench vendor",
    display_name_ar="مورد القياس المحلي",
    version="0.1.0",
    contract_url="https://example.invalid/bench",
    operations=(
        OperationSpec(
            name=READ,
            description="Read one item.",
            payload_model=ItemQuery,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
        ),
        OperationSpec(
            name=WRITE,
            description="Place an order; the vendor deduplicates by Idempotency-Key.",
            payload_model=OrderPayload,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NATIVE,
        ),
    ),
    timeout_ms=5000,
    data_classification=DataClassification.INTERNAL,
    # The loopback vendor has no quota: the bench measures the gateway, not a token bucket.
    rate_limit=RateLimit(per_second=1_000_000, burst=1_000_000),
)


class LoopbackVendorAdapter:
    """Satisfies ``gateway.contract.Adapter`` over one ``VendorHttpClient``."""

    def __init__(self, base_url: str) -> None:
        self.client = VendorHttpClient(KEY, base_url)

    @property
    def metadata(self) -> ConnectorMetadata:
        return BENCH_METADATA

    @property
    def configured(self) -> bool:
        return True

    async def initialize(self) -> None:
        await self.client.start()

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation == READ and isinstance(payload, ItemQuery):
            response = await self.client.request(
                "GET",
                f"/v1/items/{payload.item_id}",
                timeout_s=ctx.timeout_s,
                contact=ctx.contact,
            )
        elif operation == WRITE and isinstance(payload, OrderPayload):
            response = await self.client.request(
                "POST",
                "/v1/orders",
                json=payload.model_dump(mode="json"),
                idempotency_key=ctx.idempotency_key,
                timeout_s=ctx.timeout_s,
                contact=ctx.contact,
            )
        else:
            raise UnknownOperation(f"the bench connector has no operation {operation!r}")
        if not isinstance(response.body, dict):
            raise VendorBadResponse(
                f"the bench vendor answered {operation} with JSON that is not an object; "
                "it may have acted"
            )
        return response.body

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        raise NotCompensable(f"bench.{operation} cannot be undone")

    async def health_check(self) -> ProbeResult:
        # No request: probes would add vendor calls the bench does not count.
        return ProbeResult(self.client.started, "" if self.client.started else "not started")

    async def shutdown(self) -> None:
        await self.client.close()


def bench_connectors(vendor_url: str) -> list[Connector]:
    """The connectors the bench gateway serves: the one place they are wired in."""
    return [Connector(LoopbackVendorAdapter(vendor_url), registered=True)]
