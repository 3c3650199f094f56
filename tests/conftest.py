from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path

import pytest

from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.smtp_peers import (  # fixtures shared by adapter and gateway tests
    auth_smtp_server,
    hang_after_data_server,
    smtp_server,
    stalled_smtp_server,
)

__all__ = ["auth_smtp_server", "hang_after_data_server", "smtp_server", "stalled_smtp_server"]


@pytest.fixture
def fake() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
async def fake_gateway(tmp_path: Path, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    """A gateway serving only the fake connector."""
    settings = gateway_settings(tmp_path, max_payload_bytes=4096)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw
