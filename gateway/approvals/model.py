"""Approvals as stored: one person's decision about one exact action, and its time limits."""

from __future__ import annotations

import enum
from dataclasses import dataclass
from datetime import datetime, timedelta
from typing import Any


class ApprovalStatus(enum.StrEnum):
    PENDING = "pending"  # waiting for a person
    GRANTED = "granted"  # may be used once, before use_by
    DENIED = "denied"  # final: the action must not run
    EXPIRED = "expired"  # final: nobody answered in time, or granted and not used in time
    USED = "used"  # final: consumed by one execution


@dataclass(frozen=True)
class ApprovalClocks:
    """How long approvals wait and stay usable, and the SLA of the human response."""

    pending_ttl_s: float = 24 * 3600  # a pending request expires unanswered after this
    use_within_s: float = 3600  # a granted approval must be used within this
    sla_warning_s: float = 4 * 3600  # escalation level 1 from requested_at + this
    sla_breach_s: float = 24 * 3600  # escalation level 2 (SLA breached) from requested_at + this

    def __post_init__(self) -> None:
        for name in ("pending_ttl_s", "use_within_s", "sla_warning_s", "sla_breach_s"):
            if getattr(self, name) <= 0:
                raise ValueError(f"{name} must be positive")
        if self.sla_warning_s > self.sla_breach_s:
            raise ValueError("sla_warning_s must not exceed sla_breach_s")

    @property
    def pending_ttl(self) -> timedelta:
        return timedelta(seconds=self.pending_ttl_s)

    @property
    def use_within(self) -> timedelta:
        return timedelta(seconds=self.use_within_s)

    @property
    def sla_warning(self) -> timedelta:
        return timedelta(seconds=self.sla_warning_s)

    @property
    def sla_breach(self) -> timedelta:
        return timedelta(seconds=self.sla_breach_s)


@dataclass(frozen=True)
class Approval:
    """One row of ``approval_requests``; every time is an aware UTC datetime."""

    approval_id: str
    tenant: str
    connector_key: str
    operation: str
    payload_digest: str  # SHA-256 hex of the canonical payload the approval is bound to
    # The validated payload itself, for the tenant's operators only; None for requests stored
    # before full payloads were kept.
    payload: dict[str, Any] | None
    payload_redacted: dict[str, Any]  # redacted by data classification: audit, everyone else
    execution_id: str  # for a compensation: the execution it undoes; "" for an Execute
    status: ApprovalStatus
    requested_by: str
    requested_at: datetime
    resolved_by: str  # who granted or denied it; "" while pending or when it expired unanswered
    resolved_at: datetime | None  # when it was granted, denied or expired
    decided_at: datetime | None  # when a person granted or denied it (kept after expiry)
    reason: str  # the approver's note, or the reason for denial
    expires_at: datetime  # a pending request expires unanswered at this time
    use_by: datetime | None  # set when granted: it must be used before this time
    used_by_execution_id: str
    used_at: datetime | None

    @property
    def deadline(self) -> datetime | None:
        """When it lapses if nothing happens: expires_at while pending, use_by while granted,
        None once final."""
        if self.status is ApprovalStatus.PENDING:
            return self.expires_at
        if self.status is ApprovalStatus.GRANTED:
            return self.use_by
        return None

    def lapsed(self, now: datetime) -> bool:
        """Whether it is pending or granted but its deadline has passed (not yet marked)."""
        deadline = self.deadline
        return deadline is not None and deadline <= now
