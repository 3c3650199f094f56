"""The cal connector's live probe (``GET /v2/me``, which the trimmed published description
leaves out, so it runs against the Cal.com fake) as the health board shows it."""

from __future__ import annotations

from pathlib import Path

import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.cal.fake_cal import API_KEY, fake_cal
from tests.adapters.cal.rig import CalRig, recorded_rig
from tests.integration.reasons.observe import AGENT
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(60)


async def board(rig: CalRig) -> pb.ConnectorHealth:
    answer = await rig.gw.stub.Health(
        pb.HealthRequest(connector_key="cal"), metadata=AGENT, timeout=10
    )
    [cal] = answer.connectors
    return cal


async def test_the_board_shows_the_probe_passing(tmp_path: Path) -> None:
    async with (
        fake_cal() as cal,
        recorded_rig(tmp_path, cal.url, health={"probe_interval_s": 0.05}) as rig,
    ):

        async def probed() -> pb.ConnectorHealth | None:
            health = await board(rig)
            return health if health.status == pb.CONNECTOR_STATUS_OK else None

        health = await wait_until(probed, what="a passing cal probe on the board")
    assert health.last_error == ""
    assert {(r.method, r.path) for r in rig.vendor.requests} == {("GET", "/v2/me")}


async def test_the_board_shows_the_probe_failing_with_a_refused_key(tmp_path: Path) -> None:
    async with (
        fake_cal(api_key="cal_live_another_key") as cal,
        recorded_rig(tmp_path, cal.url, health={"probe_interval_s": 0.05}) as rig,
    ):

        async def failing() -> pb.ConnectorHealth | None:
            health = await board(rig)  # error once two probes in a row failed
            return health if health.status == pb.CONNECTOR_STATUS_ERROR else None

        health = await wait_until(failing, what="failing cal probes on the board")
    last_error = health.last_error
    assert last_error.startswith("PROBE_FAILED: VENDOR_AUTH_FAILED")
    assert API_KEY not in str(health)
    assert "Invalid API key" not in last_error  # Cal.com's own words are not shown
