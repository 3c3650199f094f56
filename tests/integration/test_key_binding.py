"""An idempotency key is bound to its connector, its operation and its payload: the same
key and payload for another operation, or another connector with the same payload model,
is another request and is refused before any vendor is contacted."""

from __future__ import annotations

import dataclasses
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from gateway.registry import Connector
from tests.integration.reasons.observe import Observed, echo, refused_rpc
from tests.support.fake_adapter import FAKE_METADATA, FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway


@dataclasses.dataclass
class Twins:
    gw: RunningGateway
    fake: FakeAdapter
    twin: FakeAdapter  # another connector with the same operations and payload models


@pytest.fixture
async def twins(tmp_path: Path) -> AsyncIterator[Twins]:
    fake = FakeAdapter()
    twin = FakeAdapter(dataclasses.replace(FAKE_METADATA, key="twin", display_name="Twin"))
    connectors = [Connector(fake, registered=True), Connector(twin, registered=True)]
    async with running_gateway(gateway_settings(tmp_path), connectors=connectors) as gw:
        yield Twins(gw, fake, twin)


def key_reused(seen: Observed, key: str) -> None:
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "IDEMPOTENCY_KEY_REUSED")
    assert seen.metadata == {"idempotency_key": key}
    assert seen.audit_row()["event_type"] == "request_rejected"


async def test_the_same_key_and_payload_for_another_operation_is_refused(twins: Twins) -> None:
    gw = twins.gw
    await gw.stub.Execute(echo("k1", text="hello"), timeout=10)
    other = echo("k1", text="hello", operation="unecho")
    key_reused(await refused_rpc(gw.stub.Execute(other, timeout=10), gw), "k1")
    assert [operation for operation, _ in twins.fake.calls] == ["echo"]


async def test_the_same_key_and_payload_for_another_connector_is_refused(twins: Twins) -> None:
    gw = twins.gw
    await gw.stub.Execute(echo("k1", text="hello"), timeout=10)
    other = echo("k1", text="hello")
    other.connector_key = "twin"
    key_reused(await refused_rpc(gw.stub.Execute(other, timeout=10), gw), "k1")
    assert len(twins.fake.calls) == 1
    assert twins.twin.calls == []
