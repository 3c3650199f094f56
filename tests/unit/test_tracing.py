"""Where the tracer provider's settings come from: the gateway's own settings first, then the
standard OTEL_* variables, then the defaults; a variable naming something the gateway cannot
do stops the start, naming it."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.tracing import tracer_provider
from tests.support.gateway import gateway_settings

ENDPOINT = {"OTEL_EXPORTER_OTLP_ENDPOINT": "http://127.0.0.1:4317"}


def description(tmp_path: Path, environ: dict[str, str], **settings: object) -> str:
    provider = tracer_provider(gateway_settings(tmp_path, **settings), environ)
    try:
        return provider.sampler.get_description()
    finally:
        provider.shutdown()


def test_without_an_export_nothing_is_recorded(tmp_path: Path) -> None:
    assert description(tmp_path, {}) == "AlwaysOffSampler"
    sampler = {"OTEL_TRACES_SAMPLER": "always_on"}
    assert description(tmp_path, sampler) == "AlwaysOffSampler"
    assert description(tmp_path, {**ENDPOINT, "OTEL_TRACES_EXPORTER": "none"}) == (
        "AlwaysOffSampler"
    )


def test_the_variables_sampler_is_used_unless_the_settings_name_a_ratio(tmp_path: Path) -> None:
    assert description(tmp_path, ENDPOINT).startswith("ParentBased{root:TraceIdRatioBased{1.0}")
    environ = {
        **ENDPOINT,
        "OTEL_TRACES_SAMPLER": "parentbased_traceidratio",
        "OTEL_TRACES_SAMPLER_ARG": "0.25",
    }
    assert description(tmp_path, environ).startswith("ParentBased{root:TraceIdRatioBased{0.25}")
    assert description(tmp_path, {**environ, "OTEL_TRACES_SAMPLER": "always_on"}) == (
        "AlwaysOnSampler"
    )
    assert description(tmp_path, environ, trace_sample_ratio=0.5).startswith(
        "ParentBased{root:TraceIdRatioBased{0.5}"
    )


def test_the_gateways_own_endpoint_exports_whatever_the_variables_say(tmp_path: Path) -> None:
    environ = {"OTEL_TRACES_EXPORTER": "none", "OTEL_TRACES_SAMPLER": "always_on"}
    got = description(tmp_path, environ, otlp_endpoint="127.0.0.1:4317", otlp_insecure=True)
    assert got == "AlwaysOnSampler"


@pytest.mark.parametrize(
    ("environ", "named"),
    [
        ({"OTEL_TRACES_SAMPLER": "sometimes"}, "OTEL_TRACES_SAMPLER='sometimes'"),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "half"},
            "OTEL_TRACES_SAMPLER_ARG='half'",
        ),
        (
            {"OTEL_TRACES_SAMPLER": "traceidratio", "OTEL_TRACES_SAMPLER_ARG": "1.5"},
            "OTEL_TRACES_SAMPLER_ARG='1.5'",
        ),
        ({"OTEL_TRACES_EXPORTER": "zipkin"}, "OTEL_TRACES_EXPORTER='zipkin'"),
    ],
)
def test_a_variable_the_gateway_cannot_follow_stops_the_start(
    tmp_path: Path, environ: dict[str, str], named: str
) -> None:
    with pytest.raises(ValueError, match=named):
        tracer_provider(gateway_settings(tmp_path), {**ENDPOINT, **environ})


def test_the_service_is_named_by_the_variables_or_connector_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    monkeypatch.delenv("OTEL_SERVICE_NAME", raising=False)
    monkeypatch.setenv("OTEL_RESOURCE_ATTRIBUTES", "deployment.environment=staging")
    provider = tracer_provider(gateway_settings(tmp_path), {})
    attributes = dict(provider.resource.attributes)
    assert attributes["service.name"] == "connector-gateway"
    assert attributes["deployment.environment"] == "staging"
    monkeypatch.setenv("OTEL_SERVICE_NAME", "billing-gateway")
    provider = tracer_provider(gateway_settings(tmp_path), {})
    assert provider.resource.attributes["service.name"] == "billing-gateway"
