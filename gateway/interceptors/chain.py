"""The order of the governance chain, fixed here and nowhere else.

The first entry is the outermost layer. ``tests/integration/test_chain_order.py`` records the
order in which the layers run on a real call and asserts it.
"""

from __future__ import annotations

from opentelemetry import trace

from gateway.approvals.gate import ApprovalGate
from gateway.audit.record import AuditLog
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.auth.authenticator import Authenticator
from gateway.auth.policy import AuthorizationPolicy
from gateway.interceptors.audit import AuditLayer, classified_by, sandboxed_by
from gateway.interceptors.authentication import AuthenticationLayer
from gateway.interceptors.authorization import AuthorizationLayer
from gateway.interceptors.base import Layer
from gateway.interceptors.deadline import DeadlineLayer
from gateway.interceptors.policy import PolicyLayer
from gateway.interceptors.replay import ReplayLayer
from gateway.interceptors.status_mapping import StatusMappingLayer
from gateway.interceptors.telemetry import TelemetryLayer
from gateway.interceptors.validation import ValidationLayer
from gateway.metrics import MetricsRegistry
from gateway.registry import Registry
from gateway.settings import Settings
from gateway.store.ledger import Ledger

ORDER = (
    "telemetry",
    "status_mapping",
    "audit",
    "authentication",
    "validation",
    "deadline",
    "authorization",
    "replay",
    "policy",
)


def build_chain(
    *,
    settings: Settings,
    tracer: trace.Tracer,
    audit_log: AuditLog,
    registry: Registry,
    ledger: Ledger,
    authenticator: Authenticator,
    authorization: AuthorizationPolicy,
    gate: ApprovalGate,
    refusals: RefusalLimiter,
    metrics: MetricsRegistry,
) -> list[Layer]:
    layers: dict[str, Layer] = {
        "telemetry": TelemetryLayer(tracer),
        "status_mapping": StatusMappingLayer(),
        "audit": AuditLayer(
            audit_log,
            refusals,
            classified_by(registry),
            sandboxed_by(registry),
            metrics.record_audit_write,
        ),
        "authentication": AuthenticationLayer(authenticator),
        "validation": ValidationLayer(registry, ledger, settings.max_payload_bytes),
        "deadline": DeadlineLayer(settings.deadline_reserve_ms, settings.max_call_deadline_ms),
        "authorization": AuthorizationLayer(authorization),
        "replay": ReplayLayer(ledger),
        "policy": PolicyLayer(registry, gate),
    }
    return [layers[name] for name in ORDER]
