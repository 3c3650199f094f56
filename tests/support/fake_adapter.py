"""An in-memory connector that behaves like a vendor: it records calls and can be told to
fail or to stall."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ConfigDict, Field

from gateway.contract import (
    AttemptContext,
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    Lookup,
    OperationSpec,
    PolicyClass,
    ProbeResult,
)
from gateway.errors import VendorUnavailable
from gateway.payload_types import SafeInt


class EchoPayload(BaseModel):
    model_config = ConfigDict(extra="forbid")
    text: str = Field(min_length=1, description="Text to echo.")
    count: SafeInt = Field(default=1, ge=0, description="How many times.")


class EchoResult(BaseModel):
    """What ``echo`` returns; ``unecho`` needs its execution id."""

    model_config = ConfigDict(extra="allow")
    execution_id: str = Field(min_length=1)


def _op(name: str, policy: PolicyClass, **kw: Any) -> OperationSpec:
    return OperationSpec(
        name=name, description=f"fake {name}", payload_model=EchoPayload, policy_class=policy, **kw
    )


FAKE_METADATA = ConnectorMetadata(
    key="fake",
    display_name="Fake vendor",
    display_name_ar="مورد تجريبي",
    version="0.1.0",
    contract_url="https://example.invalid/fake",
    operations=(
        _op(
            "echo",
            PolicyClass.A,
            compensation="unecho",
            result_model=EchoResult,
            success_event="echoed",
            failure_event="echo_failed",
        ),
        _op("unecho", PolicyClass.A),
        _op("lookup", PolicyClass.A, read_only=True, idempotency=Idempotency.NONE),
        _op("guarded", PolicyClass.B),
        _op("forbidden", PolicyClass.C),
    ),
    timeout_ms=2000,
    data_classification=DataClassification.INTERNAL,
)


class FakeAdapter:
    def __init__(self, metadata: ConnectorMetadata = FAKE_METADATA) -> None:
        self._metadata = metadata
        self.calls: list[tuple[str, dict[str, Any]]] = []
        self.contexts: list[AttemptContext] = []
        self.failures: list[Exception] = []  # raised by the next calls, one per call
        self.stall_s = 0.0
        # Raised by the next calls before anything reaches the vendor (a bug in the adapter).
        self.broken: list[Exception] = []
        self.entered = asyncio.Event()  # set when a call reaches the vendor
        self.hold: asyncio.Event | None = None  # when set, calls wait for it at the vendor

    @property
    def metadata(self) -> ConnectorMetadata:
        return self._metadata

    @property
    def configured(self) -> bool:
        return True

    async def initialize(self) -> None:
        return None

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if self.broken:
            raise self.broken.pop(0)
        # An in-memory vendor acts the moment it is called.
        ctx.contact.may_have_acted()
        self.calls.append((operation, payload.model_dump()))
        self.contexts.append(ctx)
        self.entered.set()
        if self.hold is not None:
            await self.hold.wait()
        if self.stall_s:
            await asyncio.sleep(self.stall_s)
        if self.failures:
            raise self.failures.pop(0)
        return {"echo": payload.model_dump(), "execution_id": ctx.execution_id}

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        ctx.contact.may_have_acted()
        self.calls.append((operation, dict(original)))
        return {"undone": original.get("execution_id", "")}

    async def health_check(self) -> ProbeResult:
        return ProbeResult(ok=True)

    async def shutdown(self) -> None:
        return None


class LookupFakeAdapter(FakeAdapter):
    """A fake vendor that can be asked what it did: it keeps every request it acted on by
    idempotency key, and ``lose_answers`` makes it act and then drop the connection."""

    def __init__(self) -> None:
        super().__init__()
        self.acted: dict[str, dict[str, Any]] = {}
        self.lose_answers = 0
        self.lookups = 0

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        result = await super().execute(operation, payload, ctx)
        self.acted[ctx.marker] = dict(result)
        if self.lose_answers:
            self.lose_answers -= 1
            raise VendorUnavailable("connection reset after the request", may_have_acted=True)
        return result

    async def reconcile(self, operation: str, payload: BaseModel, ctx: AttemptContext) -> Lookup:
        self.lookups += 1
        found = self.acted.get(ctx.marker)
        return Lookup(found=found is not None, result=found or {})
