"""The gateway's tracer provider: the gateway's own settings, then the standard ``OTEL_*``
environment variables, then the embedded defaults.

Export: ``otlp_endpoint`` (with ``otlp_insecure``) when set; otherwise
``OTEL_EXPORTER_OTLP_TRACES_ENDPOINT`` or ``OTEL_EXPORTER_OTLP_ENDPOINT``, or
``OTEL_TRACES_EXPORTER=otlp`` alone (the exporter's default, localhost:4317), over OTLP/gRPC;
the exporter reads the rest of its ``OTEL_EXPORTER_OTLP_*`` variables itself (insecure,
headers, certificates, timeout, compression), and the batch processor its ``OTEL_BSP_*``.
``OTEL_TRACES_EXPORTER=none`` leaves the variables' endpoint unused. Without an export no
span is recorded (nothing would read it), though trace ids still reach audit rows.

Sampling: ``trace_sample_ratio`` when set (parent-based, by trace id ratio); otherwise
``OTEL_TRACES_SAMPLER`` (and ``OTEL_TRACES_SAMPLER_ARG``); otherwise every trace the caller
did not decline. Naming: ``OTEL_SERVICE_NAME`` and ``OTEL_RESOURCE_ATTRIBUTES``, the service
being ``connector-gateway`` unless they name it. ``OTEL_SDK_DISABLED=true`` turns spans off
altogether (the SDK's own rule).
"""

from __future__ import annotations

import math
from collections.abc import Callable, Mapping

from opentelemetry.sdk.resources import SERVICE_NAME, Resource
from opentelemetry.sdk.trace import TracerProvider
from opentelemetry.sdk.trace.export import BatchSpanProcessor
from opentelemetry.sdk.trace.sampling import (
    ALWAYS_OFF,
    ALWAYS_ON,
    ParentBased,
    Sampler,
    TraceIdRatioBased,
)

from gateway.settings import Settings

DEFAULT_SERVICE_NAME = "connector-gateway"

_SAMPLERS: dict[str, Callable[[float], Sampler]] = {
    "always_on": lambda _: ALWAYS_ON,
    "always_off": lambda _: ALWAYS_OFF,
    "traceidratio": TraceIdRatioBased,
    "parentbased_always_on": lambda _: ParentBased(ALWAYS_ON),
    "parentbased_always_off": lambda _: ParentBased(ALWAYS_OFF),
    "parentbased_traceidratio": lambda ratio: ParentBased(TraceIdRatioBased(ratio)),
}
_EXPORTERS = ("otlp", "none")


def _set(settings: Settings, name: str) -> bool:
    """Whether the settings name the field themselves (file or environment), not by default."""
    return name in settings.model_fields_set


def _exports(settings: Settings, environ: Mapping[str, str]) -> bool:
    if settings.otlp_endpoint:
        return True
    exporter = environ.get("OTEL_TRACES_EXPORTER", "").strip().lower()
    if exporter and exporter not in _EXPORTERS:
        raise ValueError(
            f"OTEL_TRACES_EXPORTER={exporter!r}: the gateway exports spans over OTLP/gRPC "
            f"only; use one of {', '.join(_EXPORTERS)}"
        )
    if exporter == "none":
        return False
    return exporter == "otlp" or any(
        environ.get(name, "").strip()
        for name in ("OTEL_EXPORTER_OTLP_TRACES_ENDPOINT", "OTEL_EXPORTER_OTLP_ENDPOINT")
    )


def sampler(settings: Settings, environ: Mapping[str, str]) -> Sampler:
    """Which traces are recorded; a sampler the variables name wrongly stops the start."""
    name = environ.get("OTEL_TRACES_SAMPLER", "").strip().lower()
    if _set(settings, "trace_sample_ratio") or not name:
        return ParentBased(TraceIdRatioBased(settings.trace_sample_ratio))
    if name not in _SAMPLERS:
        raise ValueError(
            f"OTEL_TRACES_SAMPLER={name!r} is not a sampler the gateway knows; use one of "
            f"{', '.join(_SAMPLERS)}"
        )
    text = environ.get("OTEL_TRACES_SAMPLER_ARG", "").strip()
    ratio = 1.0
    if name.endswith("traceidratio") and text:
        try:
            ratio = float(text)
        except ValueError:
            ratio = math.nan
        if not 0.0 <= ratio <= 1.0:  # NaN fails too
            raise ValueError(
                f"OTEL_TRACES_SAMPLER_ARG={text!r} must be a ratio from 0 to 1 for {name}"
            )
    return _SAMPLERS[name](ratio)


def resource() -> Resource:
    """The service's resource: the variables' attributes, named connector-gateway unless
    they name the service."""
    detected = Resource.create()
    if str(detected.attributes.get(SERVICE_NAME, "")).startswith("unknown_service"):
        return detected.merge(Resource({SERVICE_NAME: DEFAULT_SERVICE_NAME}))
    return detected


def tracer_provider(settings: Settings, environ: Mapping[str, str]) -> TracerProvider:
    """Sampled spans, exported over OTLP when a collector is configured (module doc)."""
    exports = _exports(settings, environ)
    provider = TracerProvider(
        sampler=sampler(settings, environ) if exports else ALWAYS_OFF,
        resource=resource(),
    )
    if exports:
        # Imported only when spans are exported: it costs a tenth of a second at start-up.
        from opentelemetry.exporter.otlp.proto.grpc.trace_exporter import OTLPSpanExporter

        own = bool(settings.otlp_endpoint)
        insecure = settings.otlp_insecure if own or _set(settings, "otlp_insecure") else None
        exporter = OTLPSpanExporter(endpoint=settings.otlp_endpoint or None, insecure=insecure)
        provider.add_span_processor(BatchSpanProcessor(exporter))
    return provider
