"""The metric dictionary's refusals: a name it does not define, and a business database that
is not named, not of the documented shapes, or not reachable."""

from __future__ import annotations

import socket
import sqlite3
from pathlib import Path

from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from connectorgateway.v1 import metric_dictionary_service_pb2_grpc as mpb_grpc
from tests.integration.reasons.observe import OPERATOR, Observed, Scenario, fake_rig, refused_rpc
from tests.support.business_rows import MARCH
from tests.support.gateway import RunningGateway


def win_rate(name: str = "win_rate") -> mpb.ComputeMetricRequest:
    request = mpb.ComputeMetricRequest(name=name)
    request.period_start.FromDatetime(MARCH[0])
    request.period_end.FromDatetime(MARCH[1])
    return request


async def computed(gw: RunningGateway, request: mpb.ComputeMetricRequest) -> Observed:
    stub = mpb_grpc.MetricDictionaryServiceStub(gw.channel)
    return await refused_rpc(stub.ComputeMetric(request, metadata=OPERATOR, timeout=10), gw)


async def unknown_metric(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        seen = await computed(gw, win_rate("churn_rate"))
        assert seen.metadata["metric"] == "churn_rate"
        assert seen.fields == ["name"]
        return seen


async def metric_source_not_configured(tmp_path: Path) -> Observed:
    async with fake_rig(tmp_path) as (gw, _):
        seen = await computed(gw, win_rate())
        assert seen.metadata["metric"] == "win_rate"
        return seen


async def metric_source_invalid(tmp_path: Path) -> Observed:
    path = tmp_path / "business.db"
    with sqlite3.connect(path) as conn:  # deals without the time each closed
        conn.execute("CREATE TABLE deals (deal_id TEXT, status TEXT, amount_minor INTEGER)")
    conn.close()
    async with fake_rig(tmp_path / "var", dictionary={"database_url": f"sqlite://{path}"}) as (
        gw,
        _,
    ):
        seen = await computed(gw, win_rate())
        assert seen.metadata["metric"] == "win_rate"
        assert "closed_at" in seen.message
        return seen


async def metric_source_unavailable(tmp_path: Path) -> Observed:
    with socket.socket() as probe:  # a port on which nothing listens once it is closed
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    url = f"postgresql://reader:s3cret-pass@127.0.0.1:{port}/test"
    async with fake_rig(tmp_path, dictionary={"database_url": url}) as (gw, _):
        seen = await computed(gw, win_rate())
        assert seen.metadata["metric"] == "win_rate"
        assert "s3cret-pass" not in seen.message
        assert all("s3cret-pass" not in str(row) for row in seen.audit_rows)
        return seen


SCENARIOS: dict[str, Scenario] = {
    "UNKNOWN_METRIC": unknown_metric,
    "METRIC_SOURCE_NOT_CONFIGURED": metric_source_not_configured,
    "METRIC_SOURCE_INVALID": metric_source_invalid,
    "METRIC_SOURCE_UNAVAILABLE": metric_source_unavailable,
}
