"""``GET /metrics``: Prometheus' text parser reads the counts of known calls; the Metrics
RPC's percentiles are those of the same histogram buckets; the figures are the caller's
tenant's; enforced mode refuses an unauthenticated scrape unless reads are opened."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path

import aiohttp
import grpc
import pytest
from prometheus_client.parser import text_string_to_metric_families

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support import fault_vendor as fv
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import audit_count, base_url
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.rpc import refusal
from tests.support.tokens import token_kit

pytestmark = pytest.mark.timeout(60)

Labels = frozenset[tuple[str, str]]
LABELS = {"tenant", "connector", "operation", "sandbox", "code", "reason", "state", "le"}


@dataclass(frozen=True)
class Scrape:
    status: int
    content_type: str
    text: str

    def samples(self) -> dict[tuple[str, Labels], float]:
        """Every sample, by name and label set, as Prometheus' own parser reads them."""
        return {
            (sample.name, frozenset(sample.labels.items())): sample.value
            for family in text_string_to_metric_families(self.text)
            for sample in family.samples
        }

    def value(self, name: str, **labels: str) -> float:
        return self.samples()[(name, frozenset(labels.items()))]

    def matching(self, name: str, **labels: str) -> dict[Labels, float]:
        """The samples of ``name`` whose labels include ``labels``."""
        wanted = set(labels.items())
        return {
            sample_labels: value
            for (sample_name, sample_labels), value in self.samples().items()
            if sample_name == name and wanted <= sample_labels
        }


async def scrape(gw: RunningGateway, headers: dict[str, str] | None = None) -> Scrape:
    async with (
        aiohttp.ClientSession() as session,
        session.get(f"{base_url(gw)}/metrics", headers=headers or {}) as response,
    ):
        return Scrape(response.status, response.headers["Content-Type"], await response.text())


def histogram_quantile(q: float, buckets: dict[float, float]) -> float:
    """Prometheus' histogram_quantile over cumulative bucket counts by upper bound."""
    bounds = sorted(buckets)
    total = buckets[float("inf")]
    rank = q * total
    previous_bound, previous_count = 0.0, 0.0
    for bound in bounds:
        if buckets[bound] >= rank:
            if bound == float("inf"):
                return previous_bound
            in_bucket = buckets[bound] - previous_count
            return previous_bound + (bound - previous_bound) * (rank - previous_count) / in_bucket
        previous_bound, previous_count = bound, buckets[bound]
    raise AssertionError("the +Inf bucket holds every observation")


@dataclass
class Rig:
    gw: RunningGateway
    fake: FakeAdapter
    vendor: FaultVendor

    async def execute(
        self, connector: str, operation: str, payload: dict[str, object], key: str = ""
    ) -> pb.ExecuteResponse | grpc.aio.AioRpcError:
        request = pb.ExecuteRequest(
            connector_key=connector, operation=operation, idempotency_key=key
        )
        request.payload.update(payload)
        try:
            return await self.gw.stub.Execute(request, timeout=10)
        except grpc.aio.AioRpcError as error:
            return error


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    fake = FakeAdapter()
    async with fault_vendor() as vendor:
        settings = gateway_settings(
            tmp_path,
            reliability={"backoff_scale": 0.001, "breaker_failure_threshold": 100},
        )
        connectors = [
            Connector(fake, registered=True),
            Connector(HttpFakeAdapter(vendor.url, api_key="sk-scrape-secret"), registered=True),
        ]
        async with running_gateway(settings, connectors=connectors) as gw:
            yield Rig(gw, fake, vendor)


async def test_the_scrape_shows_the_counts_of_known_calls(rig: Rig) -> None:
    done = await rig.execute("fake", "echo", {"text": "hi"}, key="ok-1")
    assert isinstance(done, pb.ExecuteResponse)
    rig.vendor.script(*[fv.status(503)] * 4)  # every attempt the retry policy allows fails
    failed = await rig.execute("faulty", "charge", {"amount": 100}, key="charge-1")
    assert isinstance(failed, grpc.aio.AioRpcError)
    seen = refusal(failed)
    assert (seen.reason, seen.metadata["attempts"]) == ("VENDOR_UNAVAILABLE", "4")
    pending = await rig.execute("fake", "guarded", {"text": "pay"}, key="guarded-1")
    assert isinstance(pending, grpc.aio.AioRpcError)
    assert refusal(pending).reason == "APPROVAL_REQUIRED"
    rows_before = audit_count(rig.gw)

    got = await scrape(rig.gw)  # development mode: open on loopback, no credentials

    assert got.status == 200
    assert got.content_type.startswith("text/plain; version=0.0.4")
    where = {"tenant": "default", "sandbox": "false"}
    fake_echo = {**where, "connector": "fake", "operation": "echo"}
    charge = {**where, "connector": "faulty", "operation": "charge"}
    assert got.matching("connector_gateway_calls_total") == {
        frozenset({**fake_echo, "code": "OK", "reason": ""}.items()): 1.0,
        frozenset({**charge, "code": "UNAVAILABLE", "reason": "VENDOR_UNAVAILABLE"}.items()): 1.0,
    }  # the approval request never reached the connector: it is no call of it
    assert got.value("connector_gateway_retries_total", **charge) == 3
    assert got.value("connector_gateway_retries_total", **fake_echo) == 0
    assert got.value("connector_gateway_timeouts_total", **charge) == 0
    assert got.value("connector_gateway_call_duration_seconds_count", **charge) == 1
    assert got.value("connector_gateway_call_duration_seconds_count", **fake_echo) == 1
    assert got.value("connector_gateway_call_duration_seconds_bucket", **charge, le="+Inf") == 1
    assert (
        got.value(
            "connector_gateway_approvals_pending", **where, connector="fake", operation="guarded"
        )
        == 1
    )
    for connector in ("fake", "faulty"):
        states = got.matching("connector_gateway_circuit_state", connector=connector)
        assert {dict(labels)["state"]: value for labels, value in states.items()} == {
            "closed": 1.0,
            "open": 0.0,
            "half_open": 0.0,
        }
    # Every call waited for its outcome row (and a write for its requested row too).
    audit_writes = got.value(
        "connector_gateway_audit_write_duration_seconds_count", tenant="default"
    )
    assert 3 <= audit_writes <= rows_before
    # No id, caller, key or payload in any label; a scrape leaves no audit row and no span.
    for sample_name, labels in got.samples():
        assert set(dict(labels)) <= LABELS, sample_name
    for secret in ("ok-1", "charge-1", "guarded-1", "local-agent", "pay", "sk-scrape-secret"):
        assert secret not in got.text
    assert audit_count(rig.gw) == rows_before
    assert [s.name for s in rig.gw.spans.get_finished_spans() if "Http" in s.name] == []


async def test_the_rpc_percentiles_are_those_of_the_scraped_buckets(rig: Rig) -> None:
    # The vendor takes its time, so the calls land in several buckets.
    for number, stall_s in enumerate((0.0, 0.0, 0.0, 0.02, 0.02, 0.06, 0.12, 0.3)):
        rig.fake.stall_s = stall_s
        operation = "echo" if number % 2 else "unecho"  # one connector, two series
        done = await rig.execute("fake", operation, {"text": "hi"}, key=f"k{number}")
        assert isinstance(done, pb.ExecuteResponse)

    got = await scrape(rig.gw)
    metrics = await rig.gw.stub.Metrics(pb.MetricsRequest(connector_key="fake"), timeout=5)

    buckets: dict[float, float] = {}
    for labels, count in got.matching(
        "connector_gateway_call_duration_seconds_bucket", connector="fake"
    ).items():
        bound = float(dict(labels)["le"])
        buckets[bound] = buckets.get(bound, 0.0) + count  # sum by (le)
    assert buckets[float("inf")] == 8
    assert len(set(buckets.values())) >= 4  # spread over several buckets
    [figures] = metrics.connectors
    assert figures.calls == figures.successes == 8
    assert figures.latency_p50_ms == pytest.approx(histogram_quantile(0.50, buckets) * 1000)
    assert figures.latency_p95_ms == pytest.approx(histogram_quantile(0.95, buckets) * 1000)
    assert figures.latency_p99_ms == pytest.approx(histogram_quantile(0.99, buckets) * 1000)
    assert figures.latency_p50_ms < figures.latency_p95_ms <= figures.latency_p99_ms


async def test_a_sandboxed_connector_is_labelled_sandbox(tmp_path: Path) -> None:
    settings = gateway_settings(
        tmp_path, policy={"allow_loosening": True, "overrides": {"email.send": "A"}}
    )
    async with running_gateway(settings) as gw:
        request = pb.ExecuteRequest(connector_key="email", operation="send", idempotency_key="m1")
        request.payload.update({"to": ["a@example.com"], "subject": "Hi", "text": "Hello"})
        await gw.stub.Execute(request, timeout=10)
        got = await scrape(gw)
    email = {"tenant": "default", "connector": "email", "operation": "send", "sandbox": "true"}
    assert got.value("connector_gateway_calls_total", **email, code="OK", reason="") == 1
    assert got.matching("connector_gateway_circuit_state", connector="email", state="closed") == {
        frozenset({"tenant": "default", "connector": "email", "sandbox": "true"}.items())
        | {("state", "closed")}: 1.0
    }


# --- who may read what ------------------------------------------------------------------------


@dataclass
class Enforced:
    gw: RunningGateway
    tokens: dict[str, str]


@asynccontextmanager
async def enforced_gateway(tmp_path: Path, *, open_reads: bool) -> AsyncIterator[Enforced]:
    kit = token_kit(tmp_path)
    settings = gateway_settings(
        tmp_path / "var", auth=kit.auth_settings(), http_open_reads=open_reads
    )
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        tokens = {subject: kit.token(subject) for subject in ("agent-acme", "agent-globex")}
        for token in tokens.values():
            request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="k")
            request.payload.update({"text": "hi"})
            metadata = (("authorization", f"Bearer {token}"),)
            await gw.stub.Execute(request, metadata=metadata, timeout=5)
        yield Enforced(gw, tokens)


@pytest.fixture
async def enforced(tmp_path: Path) -> AsyncIterator[Enforced]:
    async with enforced_gateway(tmp_path, open_reads=False) as running:
        yield running


@pytest.fixture
async def enforced_open(tmp_path: Path) -> AsyncIterator[Enforced]:
    async with enforced_gateway(tmp_path, open_reads=True) as running:
        yield running


def tenants(got: Scrape) -> set[str]:
    return {dict(labels)["tenant"] for _, labels in got.samples()}


async def test_enforced_mode_refuses_an_unauthenticated_scrape(enforced: Enforced) -> None:
    gw = enforced.gw
    before = audit_count(gw)
    got = await scrape(gw)
    assert got.status == 401
    assert json.loads(got.text)["error"]["reason"] == "CREDENTIALS_MISSING"
    assert audit_count(gw) == before + 1
    row = gw.audit_rows()[-1]
    assert (row["event_type"], row["reason"]) == ("request_rejected", "CREDENTIALS_MISSING")
    assert row["rpc_method"] == "HTTP GET /metrics"
    forged = await scrape(gw, {"Authorization": "Bearer not-a-token"})
    assert forged.status == 401


async def test_an_authenticated_scrape_shows_its_own_tenant_only(enforced: Enforced) -> None:
    gw = enforced.gw
    got = await scrape(gw, {"Authorization": f"Bearer {enforced.tokens['agent-acme']}"})
    assert got.status == 200
    assert tenants(got) == {"acme"}
    echo = {"tenant": "acme", "connector": "fake", "operation": "echo", "sandbox": "false"}
    assert got.value("connector_gateway_calls_total", **echo, code="OK", reason="") == 1


async def test_open_reads_let_anyone_read_the_default_tenants_figures(
    enforced_open: Enforced,
) -> None:
    gw = enforced_open.gw
    anyone = await scrape(gw)
    assert anyone.status == 200
    assert tenants(anyone) == {"default"}  # no call of acme's or globex's shows
    assert anyone.matching("connector_gateway_calls_total") == {}
    # A caller with a token still reads its own tenant's.
    token = enforced_open.tokens["agent-globex"]
    globex = await scrape(gw, {"Authorization": f"Bearer {token}"})
    assert (globex.status, tenants(globex)) == (200, {"globex"})
