"""The toy connector's adapter: each operation is one request through the shared HTTP client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from adapters.http import VendorHttpClient
from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import NotCompensable, UnknownOperation, VendorBadResponse

from .account import ToyAccount
from .metadata import METADATA
from .operations import AddNote, GetNote


class ToyAdapter:
    """Satisfies ``gateway.contract.Adapter`` for one account."""

    def __init__(self, account: ToyAccount) -> None:
        self.client = VendorHttpClient(
            "toy",
            account.base_url,
            headers={"Authorization": f"Bearer {account.api_key.get_secret_value()}"},
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return True  # the account model requires everything the adapter needs

    async def initialize(self) -> None:
        await self.client.start()

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if isinstance(payload, GetNote) and operation == "get_note":
            path, method, body = f"/notes/{payload.note_id}", "GET", None
        elif isinstance(payload, AddNote) and operation == "add_note":
            path, method, body = "/notes", "POST", payload.model_dump()
        else:
            raise UnknownOperation(f"the toy connector has no operation {operation!r}")
        response = await self.client.request(
            method, path, json=body, timeout_s=ctx.timeout_s, contact=ctx.contact
        )
        if not isinstance(response.body, dict):
            raise VendorBadResponse(f"toy answered {operation} with JSON that is not an object")
        return response.body

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        raise NotCompensable("a toy note cannot be taken back")

    async def health_check(self) -> ProbeResult:
        return ProbeResult(self.client.started, "" if self.client.started else "not started")

    async def shutdown(self) -> None:
        await self.client.close()
