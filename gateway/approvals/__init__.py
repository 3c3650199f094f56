"""Human approvals of policy class B actions: the store and the SLA of the human response."""

from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus
from gateway.approvals.notifier import ApprovalNotifier
from gateway.approvals.sla import (
    SlaState,
    answered_in_time,
    breach_time,
    due_time,
    escalation_level,
    sla_compliance,
    sla_state,
)
from gateway.approvals.store import ApprovalStore

__all__ = [
    "Approval",
    "ApprovalClocks",
    "ApprovalNotifier",
    "ApprovalStatus",
    "ApprovalStore",
    "SlaState",
    "answered_in_time",
    "breach_time",
    "due_time",
    "escalation_level",
    "sla_compliance",
    "sla_state",
]
