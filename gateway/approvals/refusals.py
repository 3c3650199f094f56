"""Why an approval cannot authorize an action now: the errors the store answers with.

Pure functions over :class:`Approval` values; the store decides when to ask them.
"""

from __future__ import annotations

from dataclasses import dataclass

from gateway.approvals.model import Approval, ApprovalStatus
from gateway.errors import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalMismatch,
    ApprovalNotFound,
    ApprovalPending,
    ApprovalUsed,
    GatewayError,
    SelfApprovalForbidden,
)


@dataclass(frozen=True)
class Binding:
    """The exact action an approval is valid for (besides the tenant)."""

    connector_key: str
    operation: str
    payload_digest: str
    execution_id: str


_BINDING_PARTS = (
    ("connector_key", "connector"),
    ("operation", "operation"),
    ("payload_digest", "payload"),
    ("execution_id", "execution"),
)


def meta(approval_id: str) -> dict[str, str]:
    return {"approval_id": approval_id}


def not_found(approval_id: str) -> ApprovalNotFound:
    """The one answer for an unknown id, another tenant's approval, one pruned after its
    retention, and one that is not the caller's to see or use: nothing tells them apart."""
    return ApprovalNotFound.for_id(approval_id)


def check_user(approval: Approval, caller: str) -> None:
    """Only the caller that asked for an approval may use it, and never the person who decided
    it: the two-person rule holds even if the operator may also make the call."""
    if caller != approval.requested_by:
        raise not_found(approval.approval_id)
    if caller == approval.resolved_by:  # decisions refuse this already; a second guard
        raise SelfApprovalForbidden(
            f"approval {approval.approval_id} was decided by {caller}, who may not also use "
            "it: another person must decide",
            metadata=meta(approval.approval_id),
        )


def check_binding(approval: Approval, wanted: Binding) -> None:
    """ApprovalMismatch naming the parts that differ, never the approved values."""
    differing = [
        (field, label)
        for field, label in _BINDING_PARTS
        if getattr(approval, field) != getattr(wanted, field)
    ]
    if differing:
        raise ApprovalMismatch(
            f"approval {approval.approval_id} was given for another "
            + ", another ".join(label for _, label in differing)
            + ": an approval is valid only for the exact action it was requested for",
            metadata={
                **meta(approval.approval_id),
                "mismatch": ",".join(field for field, _ in differing),
            },
        )


def expired_error(approval: Approval) -> ApprovalExpired:
    if approval.decided_at is not None:  # granted, then not used before use_by
        text = f"approval {approval.approval_id} was granted but not used in time"
    else:
        text = f"approval {approval.approval_id} expired before anyone answered it"
    return ApprovalExpired(
        text + ": re-send the request to ask for a new approval",
        metadata=meta(approval.approval_id),
    )


def refusal(approval: Approval) -> GatewayError | None:
    """Why a (not lapsed) approval cannot authorize its action now; None when it can."""
    approval_id = approval.approval_id
    match approval.status:
        case ApprovalStatus.GRANTED:
            return None
        case ApprovalStatus.PENDING:
            return ApprovalPending(
                f"approval {approval_id} is still waiting for a person's decision",
                metadata=meta(approval_id),
            )
        case ApprovalStatus.DENIED:
            return ApprovalDenied(
                f"approval {approval_id} was denied: {approval.reason}",
                metadata=meta(approval_id),
            )
        case ApprovalStatus.EXPIRED:
            return expired_error(approval)
        case ApprovalStatus.USED:
            return ApprovalUsed(
                f"approval {approval_id} was already used by execution "
                f"{approval.used_by_execution_id}: a new action needs a new approval",
                metadata={
                    **meta(approval_id),
                    "used_by_execution_id": approval.used_by_execution_id,
                },
            )
