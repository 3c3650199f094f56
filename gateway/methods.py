"""Every governed method and what the chain must know of it: one table.

A rule says whether the method acts at a vendor, who may call it, what it names (a connector,
an approval, an execution, a listing), and which audit events its outcome leaves. Layers read
the rule of the call in hand; no layer matches method names of its own.
"""

from __future__ import annotations

import enum
from dataclasses import dataclass

CONNECTOR_SERVICE = "connectorgateway.v1.ConnectorService"
APPROVAL_SERVICE = "connectorgateway.v1.ApprovalService"
EXECUTION_SERVICE = "connectorgateway.v1.ExecutionService"
SANDBOX_SERVICE = "connectorgateway.v1.SandboxService"
METRIC_DICTIONARY_SERVICE = "connectorgateway.v1.MetricDictionaryService"
GOVERNED_SERVICES = (
    CONNECTOR_SERVICE,
    APPROVAL_SERVICE,
    EXECUTION_SERVICE,
    SANDBOX_SERVICE,
    METRIC_DICTIONARY_SERVICE,
)
HTTP_SERVICE = "connectorgateway.v1.Http"  # what only the HTTP side offers


class Subject(enum.Enum):
    """What the request names, which validation resolves before anything else runs."""

    NOTHING = "nothing"
    CONNECTOR_FILTER = "connector_filter"  # an optional connector_key narrowing a read
    CONNECTOR = "connector"  # a required connector_key
    ACTION = "action"  # connector, operation, payload and key of an Execute
    COMPENSATION = "compensation"  # the execution a Compensate undoes
    APPROVAL = "approval"  # an approval_id
    EXECUTION = "execution"  # an execution_id
    LISTING = "listing"  # a page of a listing
    METRIC = "metric"  # a metric of the dictionary, and the period to compute it for


@dataclass(frozen=True)
class AuditEvents:
    """The events a method's outcome leaves; an empty one is the operation's own (Execute)."""

    requested: str = ""  # written just before the vendor is called
    succeeded: str = ""
    failed: str = ""


@dataclass(frozen=True)
class MethodRule:
    service: str
    name: str
    subject: Subject
    acts: bool = False  # it calls a vendor: caller rights per operation, replay, policy
    compensates: bool = False  # it undoes an earlier execution
    operator_only: bool = False  # only operators of the tenant may call it
    audited: bool = False  # a success leaves an outcome row (refusals always do)
    traced: bool = True  # a server span (scrapes, like health checks, make none)
    events: AuditEvents = AuditEvents()

    @property
    def full_name(self) -> str:
        return f"/{self.service}/{self.name}"


EXECUTE = MethodRule(
    CONNECTOR_SERVICE,
    "Execute",
    Subject.ACTION,
    acts=True,
    audited=True,
    events=AuditEvents(requested="execution_requested"),
)
COMPENSATE = MethodRule(
    CONNECTOR_SERVICE,
    "Compensate",
    Subject.COMPENSATION,
    acts=True,
    compensates=True,
    audited=True,
    events=AuditEvents("compensation_requested", "workflow_compensated", "compensation_failed"),
)
HEALTH = MethodRule(CONNECTOR_SERVICE, "Health", Subject.CONNECTOR_FILTER)
METRICS = MethodRule(CONNECTOR_SERVICE, "Metrics", Subject.CONNECTOR_FILTER)
LIST_CONNECTORS = MethodRule(CONNECTOR_SERVICE, "ListConnectors", Subject.NOTHING)
DESCRIBE_CONNECTOR = MethodRule(CONNECTOR_SERVICE, "DescribeConnector", Subject.CONNECTOR)
LIST_APPROVALS = MethodRule(APPROVAL_SERVICE, "ListApprovals", Subject.LISTING, operator_only=True)
GET_APPROVAL = MethodRule(APPROVAL_SERVICE, "GetApproval", Subject.APPROVAL)
WATCH_APPROVAL = MethodRule(APPROVAL_SERVICE, "WatchApproval", Subject.APPROVAL)
APPROVE_APPROVAL = MethodRule(
    APPROVAL_SERVICE,
    "ApproveApproval",
    Subject.APPROVAL,
    operator_only=True,
    audited=True,
    events=AuditEvents(succeeded="approval_granted"),
)
DENY_APPROVAL = MethodRule(
    APPROVAL_SERVICE,
    "DenyApproval",
    Subject.APPROVAL,
    operator_only=True,
    audited=True,
    events=AuditEvents(succeeded="approval_denied"),
)
LIST_EXECUTIONS = MethodRule(
    EXECUTION_SERVICE, "ListExecutions", Subject.LISTING, operator_only=True
)
GET_EXECUTION = MethodRule(EXECUTION_SERVICE, "GetExecution", Subject.EXECUTION)
RESOLVE_EXECUTION = MethodRule(
    EXECUTION_SERVICE,
    "ResolveExecution",
    Subject.EXECUTION,
    operator_only=True,
    audited=True,
    events=AuditEvents(succeeded="outcome_resolved"),
)
RECONCILE_EXECUTION = MethodRule(
    EXECUTION_SERVICE,
    "ReconcileExecution",
    Subject.EXECUTION,
    operator_only=True,
    audited=True,
    events=AuditEvents(succeeded="outcome_reconciled"),
)
# What a vendor's sandbox received for the tenant: its operators' development tool.
SHOW_SANDBOX = MethodRule(SANDBOX_SERVICE, "ShowSandbox", Subject.CONNECTOR, operator_only=True)
# The metric dictionary: its definitions, and one metric computed for the caller's tenant
# (audited: it reads the tenant's business figures).
LIST_METRICS = MethodRule(METRIC_DICTIONARY_SERVICE, "ListMetrics", Subject.NOTHING)
# Business figures (revenue, acquisition cost) are the tenant's operators' to read, not every
# agent's; the definitions are public.
COMPUTE_METRIC = MethodRule(
    METRIC_DICTIONARY_SERVICE,
    "ComputeMetric",
    Subject.METRIC,
    operator_only=True,
    audited=True,
    events=AuditEvents(succeeded="metric_computed"),
)
# A browser's token for changes over HTTP (CSRF), bound to the caller who fetched it.
CSRF_TOKEN = MethodRule(HTTP_SERVICE, "CsrfToken", Subject.NOTHING)
# The caller's tenant's figures for Prometheus (GET /metrics).
PROMETHEUS_METRICS = MethodRule(HTTP_SERVICE, "Metrics", Subject.NOTHING, traced=False)

RULES: dict[str, MethodRule] = {
    rule.full_name: rule
    for rule in (
        EXECUTE,
        COMPENSATE,
        HEALTH,
        METRICS,
        LIST_CONNECTORS,
        DESCRIBE_CONNECTOR,
        LIST_APPROVALS,
        GET_APPROVAL,
        WATCH_APPROVAL,
        APPROVE_APPROVAL,
        DENY_APPROVAL,
        LIST_EXECUTIONS,
        GET_EXECUTION,
        RESOLVE_EXECUTION,
        RECONCILE_EXECUTION,
        SHOW_SANDBOX,
        LIST_METRICS,
        COMPUTE_METRIC,
    )
}  # the gRPC methods by full name
