"""The governance board's JSON: every connector with every field, the same as ``Health`` and
the standard health service, and who may read what of it."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
from grpc_health.v1 import health_pb2, health_pb2_grpc

from adapters.plugins import PLUGINS
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from connectorgateway.v1 import metric_dictionary_service_pb2_grpc as mpb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.connector_serving import SERVING_STATUS
from gateway.contract import ConnectorStatus, ProbeResult
from gateway.errors import VendorUnavailable
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import BROWSER, OPERATOR, base_url, call, login_file_url
from tests.support.tokens import TokenKit, token_kit
from tests.support.waiting import wait_until

BOARD = "/api/v1/connectors/governance"
FIELDS = {
    "connector_key",
    "display_name",
    "display_name_ar",
    "status",
    "last_success_at",
    "last_attempt_at",
    "last_error",
    "registered",
    "circuit_state",
    "recent_calls",
    "recent_error_rate",
    "latency_p95_ms",
    "sandbox",
    "disabled_reason",
    "disabled_by",
    "disabled_at",
}
PROBE_ERROR = "PROBE_FAILED: VENDOR_UNAVAILABLE (phase connect)"


def arabic(text: str) -> bool:
    return any("\u0600" <= ch <= "\u06ff" for ch in text)


async def test_every_connector_is_on_the_board_with_every_field(tmp_path: Path) -> None:
    async with running_gateway(gateway_settings(tmp_path)) as gw:
        got = await call(gw, "GET", BOARD)
        assert got.status == 200, got
        board = got.body
        keys = [entry["connector_key"] for entry in board["connectors"]]
        assert keys == sorted(plugin.key for plugin in PLUGINS)
        assert len(keys) == board["total"] == 7
        over_grpc = {
            h.connector_key: h
            for h in (await gw.stub.Health(pb.HealthRequest(), timeout=5)).connectors
        }
        listed = await health_pb2_grpc.HealthStub(gw.channel).List(
            health_pb2.HealthListRequest(), timeout=5
        )
        for entry in board["connectors"]:
            assert set(entry) == FIELDS, entry["connector_key"]
            key = entry["connector_key"]
            assert entry["display_name"]
            assert arabic(entry["display_name_ar"])
            assert entry["status"] == pb.ConnectorStatus.Name(over_grpc[key].status)
            assert entry["sandbox"] == over_grpc[key].sandbox
            assert entry["registered"] is True
            assert entry["circuit_state"] == "CIRCUIT_STATE_CLOSED"
            assert (entry["recent_calls"], entry["recent_error_rate"]) == (0, 0)
            assert (entry["last_success_at"], entry["last_attempt_at"]) == (None, None)
            status = ConnectorStatus(entry["status"].removeprefix("CONNECTOR_STATUS_").lower())
            served = listed.statuses[f"connector.{key}"].status
            assert served == SERVING_STATUS[status], key
        # The gateway's own entries never follow a connector.
        assert listed.statuses[""].status == health_pb2.HealthCheckResponse.SERVING
        # The dictionary's connector_health, from the same statuses, as ComputeMetric gives
        # it; the board shows it to every reader, since it says no more than the statuses.
        figure = board["connector_health"]
        computed = await mpb_grpc.MetricDictionaryServiceStub(gw.channel).ComputeMetric(
            mpb.ComputeMetricRequest(name="connector_health"),
            metadata=((DEV_CALLER_HEADER, "local-operator"),),  # figures are operators'
            timeout=5,
        )
        assert (figure["value"] or "", figure["null_reason"] or "") == (
            computed.value,
            computed.null_reason,
        )
        assert figure["components"] == [
            {"name": c.name, "value": c.value} for c in computed.components
        ]
        alias = await call(gw, "GET", "/v1/connectors/health")
        assert without_times(alias.body) == without_times(board)


def without_times(board: dict[str, Any]) -> dict[str, Any]:
    """The board without the moment its figure was computed."""
    return {**board, "connector_health": {**board["connector_health"], "computed_at": None}}


class Unreachable(FakeAdapter):
    """A vendor whose probe cannot connect."""

    async def health_check(self) -> ProbeResult:
        return ProbeResult(
            False,
            "refused",
            VendorUnavailable(
                "connect to 10.1.2.3 refused",
                metadata={"phase": "connect", "transport_detail": "ECONNREFUSED 10.1.2.3"},
            ),
        )


@asynccontextmanager
async def enforced(
    tmp_path: Path, **settings: Any
) -> AsyncIterator[tuple[RunningGateway, TokenKit]]:
    kit = token_kit(tmp_path)
    config = gateway_settings(
        tmp_path / "var",
        auth=kit.auth_settings(),
        health={"probe_interval_s": 3600},
        **settings,
    )
    connector = Connector(Unreachable(), registered=True)
    async with running_gateway(config, connectors=[connector]) as gw:

        async def probed() -> bool:
            got = await call(gw, "GET", BOARD, headers=bearer(kit, "agent-acme"))
            return bool(got.body["connectors"][0]["last_error"])

        await wait_until(probed, what="the probe's failure on the board")
        yield gw, kit


def bearer(kit: TokenKit, subject: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {kit.token(subject)}"}


async def test_enforced_mode_shows_the_board_to_authenticated_callers(tmp_path: Path) -> None:
    async with enforced(tmp_path) as (gw, kit):
        anonymous = await call(gw, "GET", BOARD)
        assert (anonymous.status, anonymous.reason) == (401, "CREDENTIALS_MISSING")
        assert gw.audit_rows()[-1]["reason"] == "CREDENTIALS_MISSING"
        agent = await call(gw, "GET", BOARD, headers=bearer(kit, "agent-acme"))
        assert agent.status == 200
        [entry] = agent.body["connectors"]
        assert (entry["status"], entry["last_error"]) == ("CONNECTOR_STATUS_DEGRADED", PROBE_ERROR)
        assert "10.1.2.3" not in str(agent.body)


async def test_open_reads_show_the_board_without_its_texts(tmp_path: Path) -> None:
    async with enforced(tmp_path, http_open_reads=True) as (gw, kit):
        rows = len(gw.audit_rows())
        anonymous = await call(gw, "GET", BOARD)
        assert anonymous.status == 200, anonymous
        [entry] = anonymous.body["connectors"]
        assert set(entry) == FIELDS
        # The default tenant's board: its status, and no error text.
        assert (entry["status"], entry["last_error"]) == ("CONNECTOR_STATUS_DEGRADED", "")
        assert len(gw.audit_rows()) == rows  # an open read acts on nothing
        agent = await call(gw, "GET", BOARD, headers=bearer(kit, "agent-acme"))
        assert agent.body["connectors"][0]["last_error"] == PROBE_ERROR
        forged = await call(gw, "GET", BOARD, headers={"Authorization": "Bearer nonsense"})
        assert (forged.status, forged.reason) == (401, "TOKEN_INVALID")


async def test_development_browsers_read_the_board_and_see_texts_once_signed_in(
    tmp_path: Path,
) -> None:
    fake = Unreachable()
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:

        async def probed() -> bool:
            got = await call(gw, "GET", BOARD, headers={DEV_CALLER_HEADER: "local-agent"})
            return bool(got.body["connectors"][0]["last_error"])

        await wait_until(probed, what="the probe's failure on the board")
        await call(
            gw,
            "POST",
            "/api/v1/connectors/fake/disable",
            headers={**OPERATOR, "X-CSRF-Token": await csrf(gw)},
            json={"reason": "vendor incident 12"},
        )
        # A browser that has not signed in: the board, without operators' or errors' text.
        page = await call(gw, "GET", BOARD, headers=BROWSER)
        assert page.status == 200, page
        [entry] = page.body["connectors"]
        assert entry["status"] == "CONNECTOR_STATUS_DISABLED"
        assert (entry["disabled_reason"], entry["disabled_by"], entry["last_error"]) == ("", "", "")
        # Signed in (the development operator): everything.
        jar = aiohttp.CookieJar(unsafe=True)
        async with aiohttp.ClientSession(cookie_jar=jar) as browser:
            login = login_file_url(gw.gateway.settings.data_dir).removeprefix(base_url(gw))
            await call(gw, "GET", login, session=browser, allow_redirects=False)
            signed_in = await call(gw, "GET", BOARD, session=browser, headers=BROWSER)
        [entry] = signed_in.body["connectors"]
        assert (entry["disabled_reason"], entry["disabled_by"]) == (
            "vendor incident 12",
            "local-operator",
        )
        assert entry["last_error"] == PROBE_ERROR
        # Scripts act as the development caller, as before.
        script = await call(gw, "GET", BOARD, headers={DEV_CALLER_HEADER: "local-agent"})
        assert script.body["connectors"][0]["disabled_reason"] == "vendor incident 12"


async def csrf(gw: RunningGateway) -> str:
    got = await call(gw, "GET", "/v1/csrf-token", headers=OPERATOR)
    return str(got.body["token"])
