"""MetricDictionaryService and its HTTP routes on a real gateway: the gateway's own metrics,
the definitions, refusals of bad requests, authentication and the audit trail."""

from __future__ import annotations

import dataclasses
import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import metric_dictionary_service_pb2 as mpb
from connectorgateway.v1 import metric_dictionary_service_pb2_grpc as mpb_grpc
from gateway.contract import ProbeResult
from gateway.dictionary import messages
from gateway.dictionary.connector_health import connector_health
from gateway.dictionary.definitions import dictionary
from gateway.registry import Connector
from tests.integration.reasons.observe import AGENT, OPERATOR, guarded, refused_rpc
from tests.support.business_db import sqlite_database
from tests.support.business_rows import MARCH, ROWS
from tests.support.clock import ManualClock
from tests.support.fake_adapter import FAKE_METADATA, FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import OPERATOR as HTTP_OPERATOR
from tests.support.http import call
from tests.support.tokens import caller, token_kit
from tests.support.waiting import wait_until

DEFAULT = "default"


def metrics(gw: RunningGateway) -> mpb_grpc.MetricDictionaryServiceStub:
    return mpb_grpc.MetricDictionaryServiceStub(gw.channel)


def compute(
    name: str, start: datetime | None = None, end: datetime | None = None
) -> mpb.ComputeMetricRequest:
    request = mpb.ComputeMetricRequest(name=name)
    if start is not None:
        request.period_start.FromDatetime(start)
    if end is not None:
        request.period_end.FromDatetime(end)
    return request


def components(response: mpb.ComputeMetricResponse) -> dict[str, str]:
    return {c.name: c.value for c in response.components}


class Probed(FakeAdapter):
    """A fake vendor whose live probe passes, fails, or breaks (no status is recorded)."""

    def __init__(self, key: str, probe: str) -> None:
        super().__init__(dataclasses.replace(FAKE_METADATA, key=key, display_name=key))
        self.probe = probe

    async def health_check(self) -> ProbeResult:
        if self.probe == "breaks":
            raise RuntimeError("a bug in the probe")
        return ProbeResult(ok=self.probe == "passes")


def tenant_connector(
    key: str, probe: str, *, sandboxed: bool = False, tenant: str = DEFAULT
) -> Connector:
    """A connector with an account for ``tenant`` only, whose probe does ``probe``."""
    return Connector(
        Probed(key, probe),
        registered=True,
        tenants={tenant: Probed(key, probe)},
        sandboxed=frozenset({tenant}) if sandboxed else frozenset(),
    )


CONNECTORS = [
    tenant_connector("alpha", "passes"),  # ok
    tenant_connector("bravo", "fails"),  # error
    tenant_connector("charlie", "breaks"),  # unknown: no probe result
    Connector(Probed("delta", "passes"), registered=False),  # declared, not built: inactive
    tenant_connector("echo_unset", "passes", tenant="other"),  # another tenant's: inactive
    tenant_connector("sbx_bad", "fails", sandboxed=True),  # at a sandbox: counted apart
    tenant_connector("sbx_ok", "passes", sandboxed=True),
]


async def test_connector_health_counts_active_connectors_and_sandboxes_apart(
    tmp_path: Path,
) -> None:
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings, connectors=CONNECTORS) as gw:
        # The probes run once at start-up, in key order: wait for the last ones' statuses.
        async def probed() -> dict[str, str] | None:
            health = await gw.stub.Health(pb.HealthRequest(), timeout=10)
            statuses = {
                e.connector_key: pb.ConnectorStatus.Name(e.status)[len("CONNECTOR_STATUS_") :]
                for e in health.connectors
            }
            done = statuses["sbx_bad"] == "ERROR" and statuses["sbx_ok"] == "OK"
            return statuses if done else None

        statuses = await wait_until(probed, what="every probe's status")
        assert statuses == {
            "alpha": "OK",
            "bravo": "ERROR",
            "charlie": "UNKNOWN",
            "delta": "NOT_CONFIGURED",
            "echo_unset": "NOT_CONFIGURED",
            "sbx_bad": "ERROR",
            "sbx_ok": "OK",
        }
        got = await metrics(gw).ComputeMetric(
            compute("connector_health"), metadata=OPERATOR, timeout=10
        )
        # Active at their vendor: alpha, bravo, charlie; ok: alpha. Sandboxes: 1 of 2 ok.
        assert (got.value, got.null_reason, got.unit) == ("0.3333", "", "ratio")
        assert components(got) == {
            "ok": "1",
            "active": "3",
            "sandboxed_ok": "1",
            "sandboxed_active": "2",
        }
        assert got.period_kind == mpb.PERIOD_KIND_CURRENT
        # The function the board calls gives the same figure.
        g = gw.gateway
        assert g.registry is not None
        figure = await connector_health(g.registry, g.health, g.guards, DEFAULT)
        assert format(figure.value, "f") == got.value
        assert {c.name: format(c.value, "f") for c in figure.components} == components(got)


async def test_connector_health_is_null_without_an_active_connector(tmp_path: Path) -> None:
    connectors = [tenant_connector("sbx_ok", "passes", sandboxed=True)]
    async with running_gateway(gateway_settings(tmp_path), connectors=connectors) as gw:
        got = await metrics(gw).ComputeMetric(
            compute("connector_health"), metadata=OPERATOR, timeout=10
        )
        assert (got.value, got.null_reason) == ("", "no_active_connectors")
        assert components(got)["sandboxed_active"] == "1"


async def test_approval_sla_compliance_equals_the_approval_queue_figure(tmp_path: Path) -> None:
    clock = ManualClock(datetime(2026, 3, 10, 9, 0, tzinfo=UTC))
    settings = gateway_settings(tmp_path, approvals={"pending_ttl_s": 72 * 3600})
    fake = FakeAdapter()
    async with running_gateway(
        settings, connectors=[Connector(fake, registered=True)], clocks=clock.clocks
    ) as gw:
        queue = apb_grpc.ApprovalServiceStub(gw.channel)

        async def ask(key: str) -> str:
            seen = await refused_rpc(
                gw.stub.Execute(guarded(key, text=f"pay {key}"), metadata=AGENT, timeout=10), gw
            )
            return seen.metadata["approval_id"]

        async def approve(approval_id: str) -> None:
            request = apb.ApproveApprovalRequest(approval_id=approval_id, note="fine")
            await queue.ApproveApproval(request, metadata=OPERATOR, timeout=10)

        in_time, late, _unanswered = [await ask(key) for key in ("k1", "k2", "k3")]
        clock.advance(3600)
        await approve(in_time)  # within the SLA
        clock.advance(24 * 3600)
        await approve(late)  # after its breach time; the third is never answered
        now = clock.now()
        listed = await queue.ListApprovals(
            apb.ListApprovalsRequest(), metadata=OPERATOR, timeout=10
        )
        got = await metrics(gw).ComputeMetric(
            compute("approval_sla_compliance", now - timedelta(days=30), now),
            metadata=OPERATOR,
            timeout=10,
        )
        assert listed.approval_sla_compliance == pytest.approx(1 / 3)
        assert got.value == f"{listed.approval_sla_compliance:.4f}" == "0.3333"
        assert components(got) == {"answered_in_time": "1", "due": "3"}
        before = await metrics(gw).ComputeMetric(
            compute("approval_sla_compliance", now - timedelta(days=60), now - timedelta(days=30)),
            metadata=OPERATOR,
            timeout=10,
        )
        assert (before.value, before.null_reason) == ("", "nothing_due")


async def test_the_definitions_over_grpc_and_http_are_the_dictionary(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path, dictionary={"currency": "SAR"})
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        listed = await metrics(gw).ListMetrics(mpb.ListMetricsRequest(), timeout=10)
        assert listed == messages.listing(dictionary(), "SAR")
        assert [m.name for m in listed.metrics] == list(dictionary().names)
        assert listed.reporting_currency == "SAR"
        got = await call(gw, "GET", "/api/v1/metrics/dictionary", headers=HTTP_OPERATOR)
        assert got.status == 200, got
        assert got.body == json_format.MessageToDict(
            listed, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
        )
        win_rate = next(m for m in got.body["metrics"] if m["name"] == "win_rate")
        assert win_rate["period_kind"] == "PERIOD_KIND_WITHIN"
        assert win_rate["definition_ar"].startswith("عدد الصفقات الرابحة")
        # Reading the definitions leaves no audit row; it reads nothing of the tenant's.
        assert [r for r in gw.audit_rows() if r["rpc_method"].endswith("dictionary")] == []


async def test_bad_periods_are_refused_naming_the_field(tmp_path: Path) -> None:
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        stub = metrics(gw)
        start, end = MARCH
        cases = [
            (compute("win_rate", None, end), "MISSING_FIELD", "period_start"),
            (compute("win_rate", start, None), "MISSING_FIELD", "period_end"),
            (compute("win_rate", end, start), "INVALID_FIELD", "period_end"),
            (compute("win_rate", start, start), "INVALID_FIELD", "period_end"),
            (compute("consent_coverage", start, None), "MISSING_FIELD", "period_end"),
            (compute("consent_coverage", end, start), "INVALID_FIELD", "period_end"),
            (compute("Win-Rate"), "INVALID_FIELD", "name"),
            (compute(""), "MISSING_FIELD", "name"),
        ]
        too_late = compute("win_rate", start)
        too_late.period_end.seconds = 253402300800  # 10000-01-01: past what a Timestamp holds
        cases.append((too_late, "INVALID_FIELD", "period_end"))
        for request, reason, field in cases:
            seen = await refused_rpc(stub.ComputeMetric(request, metadata=OPERATOR, timeout=10), gw)
            assert (seen.code, seen.reason, seen.fields) == (
                grpc.StatusCode.INVALID_ARGUMENT,
                reason,
                [field],
            ), request
            assert seen.audit_row()["event_type"] == "request_rejected"

        http_cases = [
            ({"from": "yesterday", "to": "2026-04-01"}, "INVALID_FIELD", "from"),
            ({"from": "2026-03-01T00:00:00", "to": "2026-04-01"}, "INVALID_FIELD", "from"),
            ({"from": "2026-03-01", "to": "2026-02-30"}, "INVALID_FIELD", "to"),
            ({"from": "2026-04-01", "to": "2026-03-01"}, "INVALID_FIELD", "to"),
            ({"from": "2026-03-01"}, "MISSING_FIELD", "to"),
            ({"to": "2026-03-01"}, "MISSING_FIELD", "from"),
        ]
        for params, reason, field in http_cases:
            got = await call(
                gw, "GET", "/api/v1/metrics/win_rate", params=params, headers=HTTP_OPERATOR
            )
            error = got.body["error"]
            assert (got.status, error["reason"], [v["field"] for v in error["violations"]]) == (
                400,
                reason,
                [field],
            ), params
        twice = await call(
            gw,
            "GET",
            "/api/v1/metrics/win_rate?from=2026-03-01&from=2026-03-02&to=2026-04-01",
            headers=HTTP_OPERATOR,
        )
        assert (twice.status, twice.reason) == (400, "INVALID_FIELD")


async def test_an_unknown_metric_is_refused_with_its_reason(tmp_path: Path) -> None:
    async with running_gateway(
        gateway_settings(tmp_path), connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        seen = await refused_rpc(
            metrics(gw).ComputeMetric(compute("churn_rate", *MARCH), metadata=OPERATOR, timeout=10),
            gw,
        )
        assert (seen.code, seen.reason, seen.fields) == (
            grpc.StatusCode.INVALID_ARGUMENT,
            "UNKNOWN_METRIC",
            ["name"],
        )
        assert seen.metadata == {"metric": "churn_rate"}
        assert "win_rate" in seen.message
        row = seen.audit_row()
        assert (row["event_type"], row["rpc_method"]) == ("request_rejected", "ComputeMetric")
        assert json.loads(row["payload_redacted"])["metric"] == "churn_rate"
        got = await call(gw, "GET", "/api/v1/metrics/churn_rate", headers=HTTP_OPERATOR)
        assert (got.status, got.reason, got.body["error"]["metadata"]) == (
            400,
            "UNKNOWN_METRIC",
            {"metric": "churn_rate"},
        )


async def test_enforced_mode_needs_a_caller_and_each_tenant_reads_its_own_database(
    tmp_path: Path,
) -> None:
    kit = token_kit(tmp_path)
    acme = sqlite_database(tmp_path / "acme.db", ROWS)
    other_rows = {**ROWS, "deals": [dict(ROWS["deals"][0], amount_minor=1)]}
    default = sqlite_database(tmp_path / "default.db", other_rows)
    settings = gateway_settings(
        tmp_path / "var",
        auth=kit.auth_settings(),
        dictionary={"database_url": default, "tenant_databases": {"acme": acme}, "currency": "SAR"},
    )
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        stub = metrics(gw)
        for unauthenticated in (
            stub.ListMetrics(mpb.ListMetricsRequest(), timeout=10),
            stub.ComputeMetric(compute("revenue_actual", *MARCH), timeout=10),
        ):
            seen = await refused_rpc(unauthenticated, gw)
            assert (seen.code, seen.reason) == (
                grpc.StatusCode.UNAUTHENTICATED,
                "CREDENTIALS_MISSING",
            )
        got = await call(gw, "GET", "/api/v1/metrics/dictionary")
        assert (got.status, got.reason) == (401, "CREDENTIALS_MISSING")

        listed = await stub.ListMetrics(
            mpb.ListMetricsRequest(), metadata=kit.metadata("agent-acme"), timeout=10
        )
        assert len(listed.metrics) == 7
        # An agent of the tenant reads the definitions, never the business figures.
        refused = await refused_rpc(
            stub.ComputeMetric(
                compute("revenue_actual", *MARCH), metadata=kit.metadata("agent-acme"), timeout=10
            ),
            gw,
        )
        assert refused.code == grpc.StatusCode.PERMISSION_DENIED
        revenue = await stub.ComputeMetric(
            compute("revenue_actual", *MARCH), metadata=kit.metadata("ops-acme"), timeout=10
        )
        assert revenue.value == "4100.50"  # acme's own database, not the default tenant's
        over_http = await call(
            gw,
            "GET",
            "/api/v1/metrics/revenue_actual",
            params={"from": "2026-03-01", "to": "2026-04-01"},
            headers={"Authorization": f"Bearer {kit.token('ops-acme')}"},
        )
        assert (over_http.status, over_http.body["value"]) == (200, "4100.50")
        seen = await refused_rpc(
            stub.ComputeMetric(
                compute("revenue_actual", *MARCH), metadata=kit.metadata("ops-globex"), timeout=10
            ),
            gw,
        )
        assert (seen.reason, seen.metadata) == (
            "METRIC_SOURCE_NOT_CONFIGURED",
            {"metric": "revenue_actual"},
        )
        computed = [r for r in gw.audit_rows() if r["event_type"] == "metric_computed"]
        assert [(r["tenant"], r["caller"], r["rpc_method"]) for r in computed] == [
            ("acme", caller("ops-acme"), "ComputeMetric"),
            ("acme", caller("ops-acme"), "HTTP GET /api/v1/metrics/revenue_actual"),
        ]
        assert json.loads(computed[0]["payload_redacted"]) == {
            "metric": "revenue_actual",
            "period_start": "2026-03-01T00:00:00.000000Z",
            "period_end": "2026-04-01T00:00:00.000000Z",
        }
        assert json.loads(computed[1]["payload_redacted"])["from"] == "2026-03-01T00:00:00.000000Z"
        # The database's address is in no audit row.
        assert all(str(tmp_path) not in json.dumps(r) for r in gw.audit_rows())
