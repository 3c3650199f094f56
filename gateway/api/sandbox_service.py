"""SandboxService: what a vendor's sandbox received for the caller's tenant (operators)."""

from __future__ import annotations

from connectorgateway.v1 import sandbox_service_pb2 as spb
from gateway.call import Admitted, Context
from gateway.descriptors import to_struct
from gateway.errors import NotSandboxed
from gateway.registry import Registry
from gateway.sandboxes import Sandboxes


class SandboxServicer:
    def __init__(self, registry: Registry, sandboxes: Sandboxes) -> None:
        self._registry = registry
        self._sandboxes = sandboxes

    async def ShowSandbox(
        self, call: Admitted[spb.ShowSandboxRequest], ctx: Context
    ) -> spb.ShowSandboxResponse:
        connector = self._registry.require(call.request.connector_key)
        received = (
            self._sandboxes.received(connector.key, call.tenant)
            if connector.sandboxed_for(call.tenant)
            else None
        )
        if received is None:
            raise NotSandboxed.for_tenant(connector.key)
        return spb.ShowSandboxResponse(
            connector_key=connector.key, received=[to_struct(record) for record in received]
        )
