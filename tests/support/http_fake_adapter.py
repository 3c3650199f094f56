"""A connector ("faulty") that speaks HTTP to a vendor through ``VendorHttpClient``.

Pointed at ``tests.support.fault_vendor``, it lets gateway tests drive every transport
failure an HTTP vendor can produce through the real client and the real error mapping.
Each operation is ``POST /v1/<operation>`` with the payload as JSON (``get`` is
``GET /v1/get?id=...``) and returns the vendor's JSON body as its result.
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
    RetryPolicy,
)
from gateway.errors import (
    InvalidPayload,
    NotCompensable,
    UnknownOperation,
    VendorBadResponse,
)
from gateway.payload_types import SafeInt

VENDOR = "faulty"


class AmountPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    amount: SafeInt = Field(ge=1, description="A positive amount in minor units.")
    note: str = Field(default="", description="Free text passed to the vendor.")


class ChargeResult(BaseModel):
    model_config = ConfigDict(extra="allow")
    id: str = Field(min_length=1, description="The vendor's charge id, which refund needs.")


class GetPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    id: str = Field(min_length=1, description="The vendor's object id.")


FAULTY_METADATA = ConnectorMetadata(
    key="faulty",
    display_name="Faulty vendor",
    display_name_ar="مورد معطوب",
    version="0.1.0",
    contract_url="https://example.invalid/faulty",
    operations=(
        OperationSpec(
            name="charge",
            description="Charge an amount; the vendor deduplicates by Idempotency-Key.",
            payload_model=AmountPayload,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NATIVE,
            compensation="refund",
            result_model=ChargeResult,
        ),
        OperationSpec(
            name="refund",
            description="Refund an amount; the vendor deduplicates by Idempotency-Key.",
            payload_model=AmountPayload,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NATIVE,
        ),
        OperationSpec(
            name="create",
            description="Create an object; the vendor takes no idempotency key.",
            payload_model=AmountPayload,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.GATEWAY,
        ),
        OperationSpec(
            name="get",
            description="Read an object by id.",
            payload_model=GetPayload,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
        ),
    ),
    retry_policy=RetryPolicy(),
    timeout_ms=2000,
    data_classification=DataClassification.INTERNAL,
)


class HttpFakeAdapter:
    """Satisfies ``gateway.contract.Adapter`` over one ``VendorHttpClient``."""

    def __init__(
        self,
        base_url: str,
        *,
        api_key: str | None = None,
        metadata: ConnectorMetadata = FAULTY_METADATA,
    ) -> None:
        headers = {"Authorization": f"Bearer {api_key}"} if api_key else None
        self.client = VendorHttpClient(VENDOR, base_url, headers=headers)
        self._base_url = base_url
        self._metadata = metadata  # the same operations, perhaps another classification

    @property
    def metadata(self) -> ConnectorMetadata:
        return self._metadata

    @property
    def configured(self) -> bool:
        return bool(self._base_url)

    async def initialize(self) -> None:
        await self.client.start()

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        spec = self._metadata.operation(operation)
        if spec is None:
            raise UnknownOperation(f"the faulty connector has no operation {operation!r}")
        if not isinstance(payload, spec.payload_model):
            raise InvalidPayload(
                f"faulty.{operation} takes a {spec.payload_model.__name__} payload, "
                f"not {type(payload).__name__}"
            )
        path = f"/v1/{operation}"
        key = ctx.idempotency_key if spec.idempotency is Idempotency.NATIVE else None
        if spec.read_only:
            response = await self.client.request(
                "GET",
                path,
                params=payload.model_dump(mode="json"),
                timeout_s=ctx.timeout_s,
                contact=ctx.contact,
            )
        else:
            response = await self.client.request(
                "POST",
                path,
                json=payload.model_dump(mode="json"),
                idempotency_key=key,
                timeout_s=ctx.timeout_s,
                contact=ctx.contact,
            )
        return _result(response.body, operation)

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation != "refund":
            raise NotCompensable(f"faulty.{operation} is not a compensating operation")
        charge = original.get("id")
        if not isinstance(charge, str) or not charge:
            raise NotCompensable("the original result has no vendor id to refund")
        response = await self.client.request(
            "POST",
            "/v1/refund",
            json={"charge": charge},
            idempotency_key=ctx.idempotency_key,
            timeout_s=ctx.timeout_s,
            contact=ctx.contact,
        )
        return _result(response.body, operation)

    async def health_check(self) -> ProbeResult:
        # No request: a probe would consume the faults a test scripted for its calls.
        if not self.client.started:
            return ProbeResult(False, "the faulty client is not started")
        return ProbeResult(True)

    async def shutdown(self) -> None:
        await self.client.close()


def _result(body: Any, operation: str) -> Mapping[str, Any]:
    if body is None:
        return {}
    if not isinstance(body, dict):
        raise VendorBadResponse(
            f"faulty answered {operation} with JSON that is not an object; it may have acted"
        )
    return body
