"""The five business metrics over a real gateway, on a SQLite file and on PostgreSQL: every
figure equals the one worked out by hand in ``tests/support/business_rows.py``."""

from __future__ import annotations

from collections.abc import AsyncIterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from connectorgateway.v1 import metric_dictionary_service_pb2_grpc as mpb_grpc
from gateway.dictionary.definitions import dictionary
from tests.integration.reasons.observe import OPERATOR as RPC_OPERATOR
from tests.support.business_db import postgres_database, sqlite_database
from tests.support.business_rows import EMPTY, MARCH, MAY, ROWS
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import OPERATOR, call

Period = tuple[datetime, datetime] | None
APRIL_FIRST = MARCH[1]
BEFORE_ANY_LEAD = datetime(2025, 1, 1, tzinfo=UTC)

# (metric, period or None for the current state, as_of end) -> value, null reason, components
EXPECTED: list[tuple[str, Period, str | None, str, dict[str, str]]] = [
    ("revenue_actual", MARCH, "4100.50", "", {"won_deals": "3", "other_currency_rows": "0"}),
    ("revenue_actual", EMPTY, "0.00", "", {"won_deals": "0", "other_currency_rows": "0"}),
    (
        "revenue_actual",
        MAY,
        None,
        "mixed_currencies",
        {"won_deals": "1", "other_currency_rows": "1"},
    ),
    ("pipeline_value", None, "1333.33", "", {"open_deals": "2", "other_currency_rows": "0"}),
    (
        "win_rate",
        MARCH,
        "0.6000",
        "",
        {"won_deals": "3", "lost_deals": "2", "closed_deals": "5"},
    ),
    ("win_rate", MAY, "1.0000", "", {"won_deals": "1", "lost_deals": "0", "closed_deals": "1"}),
    (
        "win_rate",
        EMPTY,
        None,
        "no_closed_deals",
        {"won_deals": "0", "lost_deals": "0", "closed_deals": "0"},
    ),
    (
        "cac",
        MARCH,
        "500.12",
        "",
        {
            "commissions": "500.49",
            "marketing_spend": "1500.01",
            "acquisition_cost": "2000.50",
            "new_customers": "4",
            "other_currency_rows": "0",
        },
    ),
    (
        "cac",
        EMPTY,
        None,
        "no_new_customers",
        {
            "commissions": "0.00",
            "marketing_spend": "0.00",
            "acquisition_cost": "0.00",
            "new_customers": "0",
            "other_currency_rows": "0",
        },
    ),
    (
        "consent_coverage",
        (BEFORE_ANY_LEAD, APRIL_FIRST),  # as of the end; the start is not used
        "0.4286",
        "",
        {"leads_with_active_consent": "3", "leads": "7"},
    ),
    (
        "consent_coverage",
        (datetime(2024, 1, 1, tzinfo=UTC), BEFORE_ANY_LEAD),
        None,
        "no_leads",
        {"leads_with_active_consent": "0", "leads": "0"},
    ),
]


@pytest.fixture(params=["sqlite", "postgresql"])
async def business(request: pytest.FixtureRequest, tmp_path: Path) -> AsyncIterator[RunningGateway]:
    """A gateway whose default tenant's business database holds the worked example."""

    async def serve(url: str) -> AsyncIterator[RunningGateway]:
        settings = gateway_settings(
            tmp_path / "var", dictionary={"database_url": url, "currency": "SAR"}
        )
        async with running_gateway(settings) as gw:
            yield gw

    if request.param == "sqlite":
        async for gw in serve(sqlite_database(tmp_path / "business.db", ROWS)):
            yield gw
    else:
        async with postgres_database(ROWS) as url:
            async for gw in serve(url):
                yield gw


def compute_request(name: str, period: Period) -> mpb.ComputeMetricRequest:
    request = mpb.ComputeMetricRequest(name=name)
    if period is not None:
        request.period_start.FromDatetime(period[0])
        request.period_end.FromDatetime(period[1])
    return request


async def test_every_business_figure_equals_the_worked_example(business: RunningGateway) -> None:
    stub = mpb_grpc.MetricDictionaryServiceStub(business.channel)
    for name, period, value, null_reason, components in EXPECTED:
        got = await stub.ComputeMetric(
            compute_request(name, period), metadata=RPC_OPERATOR, timeout=10
        )
        metric = dictionary().metric(name)
        assert metric is not None
        figure = (got.value or None, got.null_reason, {c.name: c.value for c in got.components})
        assert figure == (value, null_reason, components), (name, period)
        # What the dictionary promises of every figure: its components, a declared reason.
        assert [c.name for c in got.components] == [c.name for c in metric.components]
        assert not null_reason or null_reason in metric.null_reasons
        assert (got.unit, got.currency) == (
            metric.unit.value,
            "SAR" if metric.unit.value == "money" else "",
        )
        assert got.dictionary_version == dictionary().version


async def test_the_period_applied_is_the_one_the_metric_kind_uses(
    business: RunningGateway,
) -> None:
    stub = mpb_grpc.MetricDictionaryServiceStub(business.channel)
    within = await stub.ComputeMetric(
        compute_request("win_rate", MARCH), metadata=RPC_OPERATOR, timeout=10
    )
    assert within.period_kind == mpb.PERIOD_KIND_WITHIN
    assert (within.period_start.ToDatetime(UTC), within.period_end.ToDatetime(UTC)) == MARCH
    as_of = await stub.ComputeMetric(
        compute_request("consent_coverage", MARCH), metadata=RPC_OPERATOR, timeout=10
    )
    assert as_of.period_kind == mpb.PERIOD_KIND_AS_OF_END
    assert not as_of.HasField("period_start")
    assert as_of.period_end.ToDatetime(UTC) == MARCH[1]
    current = await stub.ComputeMetric(
        compute_request("pipeline_value", None), metadata=RPC_OPERATOR, timeout=10
    )
    assert current.period_kind == mpb.PERIOD_KIND_CURRENT
    assert not current.HasField("period_start")
    assert not current.HasField("period_end")


async def test_the_http_side_answers_the_same_figures(business: RunningGateway) -> None:
    got = await call(
        business,
        "GET",
        "/api/v1/metrics/cac",
        params={"from": "2026-03-01", "to": "2026-04-01T03:00:00+03:00"},
        headers=OPERATOR,
    )
    assert got.status == 200, got
    assert (got.body["value"], got.body["null_reason"], got.body["currency"]) == (
        "500.12",
        None,
        "SAR",
    )
    assert got.body["period_start"] == "2026-03-01T00:00:00Z"
    assert got.body["period_end"] == "2026-04-01T00:00:00Z"
    nothing = await call(
        business,
        "GET",
        "/api/v1/metrics/win_rate",
        params={"from": "2025-01-01", "to": "2025-02-01"},
        headers=OPERATOR,
    )
    assert (nothing.status, nothing.body["value"], nothing.body["null_reason"]) == (
        200,
        None,
        "no_closed_deals",
    )
