"""A connector declared before its adapter exists is served by a stand-in: it is listed and
described, and refuses every call as not configured, naming the connector."""

from __future__ import annotations

import pytest

from gateway.contract import Adapter
from gateway.errors import NotConfigured
from gateway.plugin import ConnectorPlugin
from gateway.settings import settings_model
from gateway.unconfigured import UnconfiguredAdapter
from tests.support.vendor_adapters import attempt
from tests.toy_connector.metadata import METADATA


def test_a_declared_only_plugin_is_registered_as_not_built() -> None:
    plugin = ConnectorPlugin(METADATA)
    connector = plugin.connector(settings_model([plugin])())
    assert connector.registered is False
    assert isinstance(connector.adapter, UnconfiguredAdapter)


async def test_the_stand_in_refuses_to_act() -> None:
    adapter = UnconfiguredAdapter(METADATA)
    assert isinstance(adapter, Adapter)
    assert adapter.metadata is METADATA
    assert adapter.configured is False
    await adapter.initialize()
    op = METADATA.operations[0]
    payload = op.payload_model.model_validate({"text": "hello"})
    with pytest.raises(NotConfigured, match="not available in this version of the gateway") as err:
        await adapter.execute(op.name, payload, attempt())
    assert METADATA.key in err.value.message
    assert err.value.metadata == {"connector_key": METADATA.key, "operation": op.name}
    with pytest.raises(NotConfigured, match="not available in this version of the gateway"):
        await adapter.compensate(op.name, {"id": "x"}, attempt())
    probe = await adapter.health_check()
    assert probe.ok is False
    assert probe.detail == "not configured"
    await adapter.shutdown()
