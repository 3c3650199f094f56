from __future__ import annotations

from collections.abc import AsyncIterator, Generator
from pathlib import Path

import pytest

from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.prism import prism  # the vendors' descriptions served by Prism
from tests.support.smtp_peers import (  # fixtures shared by adapter and gateway tests
    auth_smtp_server,
    hang_after_data_server,
    smtp_server,
    stalled_smtp_server,
)

__all__ = [
    "auth_smtp_server",
    "hang_after_data_server",
    "prism",
    "smtp_server",
    "stalled_smtp_server",
]


@pytest.hookimpl(wrapper=True)
def pytest_runtest_makereport(
    item: pytest.Item, call: pytest.CallInfo[None]
) -> Generator[None, pytest.TestReport, pytest.TestReport]:
    """A test that skips, or is marked to fail, proves nothing and hides what it would have
    caught: here it fails, with its reason. A missing tool fails the test that needs it."""
    report = yield
    excused = getattr(report, "wasxfail", None)
    if report.skipped or excused is not None:
        reason = excused if excused is not None else report.longrepr
        if isinstance(reason, tuple):  # (file, line, reason) of a skip
            reason = reason[2]
        report.outcome = "failed"
        report.longrepr = f"tests in this suite never skip nor expect to fail: {reason}"
    return report


@pytest.fixture
def fake() -> FakeAdapter:
    return FakeAdapter()


@pytest.fixture
async def fake_gateway(tmp_path: Path, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    """A gateway serving only the fake connector."""
    settings = gateway_settings(tmp_path, max_payload_bytes=4096)
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw
