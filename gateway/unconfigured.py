"""The stand-in adapter of a declared connector whose vendor adapter is not built yet.

It declares the connector's contract and refuses every call, so the connector is listed and
described, reports ``not_configured``, and never pretends to have acted. It also declares the
contract of a built connector whose default tenant has no account.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any, NoReturn

from pydantic import BaseModel

from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import NotConfigured


class UnconfiguredAdapter:
    """Satisfies ``gateway.contract.Adapter``; ``execute`` and ``compensate`` always refuse."""

    def __init__(self, metadata: ConnectorMetadata) -> None:
        self._metadata = metadata

    @property
    def metadata(self) -> ConnectorMetadata:
        return self._metadata

    @property
    def configured(self) -> bool:
        return False

    async def initialize(self) -> None:
        return None

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        self._refuse(operation)

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        self._refuse(operation)

    async def health_check(self) -> ProbeResult:
        return ProbeResult(ok=False, detail="not configured")

    async def shutdown(self) -> None:
        return None

    def _refuse(self, operation: str) -> NoReturn:
        key = self._metadata.key
        raise NotConfigured(
            f"the {key!r} connector's adapter is not available in this version of the gateway",
            metadata={"connector_key": key, "operation": operation},
        )
