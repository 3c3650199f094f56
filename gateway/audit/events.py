"""Every audit event the gateway writes is built here, so that a row's fields mean the same
whoever writes it: the chain (a governed call's rows), the HTTP side (refusals before the
chain, a browser's sign-in), the refusal limiter (its summaries) and the approval sweep.
"""

from __future__ import annotations

import time
from collections import Counter
from collections.abc import Callable, Mapping
from typing import TYPE_CHECKING

from gateway.audit.record import AuditEvent, Outcome
from gateway.contract import DataClassification
from gateway.errors import GatewayError, Internal
from gateway.identity import Identity
from gateway.redaction import redact_metadata

if TYPE_CHECKING:
    from gateway.approvals.model import Approval
    from gateway.call import Call

REQUEST_REJECTED = "request_rejected"
REFUSALS_SUMMARIZED = "refusals_summarized"
APPROVAL_EXPIRED = "approval_expired"
SESSION_OPENED = "session_opened"
SWEEP_CALLER = "gateway"  # the caller of rows the gateway writes of its own accord

# The data classification of a connector by its key ("" before one is resolved).
Classify = Callable[[str], DataClassification]
# Whether a tenant's calls of a connector (by key) reach the vendor's sandbox.
Sandboxed = Callable[[str, str], bool]


def never(_tenant: str, _key: str) -> bool:
    return False


def confidential(_: str) -> DataClassification:
    """Details of calls no connector's classification covers are taken as confidential."""
    return DataClassification.CONFIDENTIAL


def call_event(
    call: Call,
    event_type: str,
    outcome: Outcome,
    *,
    error: GatewayError | None = None,
    status_code: str = "OK",
    reason: str = "",
    classify: Classify = confidential,
    sandboxed: Sandboxed = never,
) -> AuditEvent:
    """A row of a governed call, from what the layers learned of it. ``detail`` (the
    approval, an operator's resolution, the error's metadata) is redacted by the connector's
    data classification, whatever redaction the error already had; it says ``sandbox:
    true`` when the tenant's calls of the connector reach its vendor's sandbox."""
    facts = call.facts
    sandbox = bool(facts.connector_key) and sandboxed(facts.tenant, facts.connector_key)
    # An operator's own words are theirs, not the payload's nor a vendor's: kept as written.
    note = {"note": facts.note} if facts.note else {}
    return AuditEvent(
        event_type=event_type,
        outcome=outcome,
        tenant=facts.tenant,
        caller=facts.caller,
        rpc_method=call.route,
        connector_key=facts.connector_key,
        operation=facts.operation,
        execution_id=facts.execution_id,
        idempotency_key=facts.idempotency_key,
        payload_digest=facts.payload_digest,
        payload_redacted=facts.payload_redacted,
        status_code=error.code.name if error else status_code,
        reason=error.reason if error else reason,
        attempts=facts.attempts,
        latency_ms=round((time.monotonic() - call.received_at) * 1000, 3),
        trace_id=facts.trace_id,
        detail=redact_metadata(
            {
                **({"approval_id": facts.approval_id} if facts.approval_id else {}),
                **({"resolution": facts.resolution} if facts.resolution else {}),
                **(_storable(error.metadata) if error else {}),
                **({"sandbox": "true"} if sandbox else {}),
            },
            classify(facts.connector_key),
        )
        | note,
    )


def _storable(metadata: Mapping[str, str]) -> dict[str, str]:
    """An error's metadata as a row can hold it: what it quotes of an HTTP request may hold
    lone surrogates (undecodable bytes in a path), which no UTF-8 text can; they are kept as
    escapes."""
    return {_text(key): _text(value) for key, value in metadata.items()}


def _text(value: str) -> str:
    return value.encode("utf-8", "backslashreplace").decode("utf-8")


def refusal_event(route: str, error: GatewayError, detail: Mapping[str, str]) -> AuditEvent:
    """A request refused before it became a governed call, so before anyone proved who they
    are (an HTTP request for no route, a body too slow or too large, a spent sign-in link).
    ``route`` and ``detail`` quote what the caller sent: they must already be printable."""
    internal = isinstance(error, Internal)
    return AuditEvent(
        event_type=REQUEST_REJECTED,
        outcome=Outcome.FAILED if internal else Outcome.REFUSED,
        tenant="",
        caller="",
        rpc_method=route,
        status_code=error.code.name,
        reason=error.reason,
        trace_id=error.metadata.get("trace_id", "") if internal else "",
        detail=detail,
    )


def refusals_summarized(peer: str, counts: Counter[str], first_at: str, last_at: str) -> AuditEvent:
    """One peer's unauthenticated refusals that were counted instead of written, by reason."""
    return AuditEvent(
        event_type=REFUSALS_SUMMARIZED,
        outcome=Outcome.REFUSED,
        tenant="",
        caller="",
        rpc_method="",
        status_code="UNAUTHENTICATED",
        detail={
            "peer": peer,
            "count": str(counts.total()),
            "reasons": ",".join(f"{reason}={n}" for reason, n in sorted(counts.items())),
            "first_at": first_at,
            "last_at": last_at,
        },
    )


def approval_expired(approval: Approval) -> AuditEvent:
    """An approval request that nobody decided, or whose grant nobody used, in time."""
    return AuditEvent(
        event_type=APPROVAL_EXPIRED,
        outcome=Outcome.REFUSED,
        tenant=approval.tenant,
        caller=SWEEP_CALLER,
        rpc_method="",
        connector_key=approval.connector_key,
        operation=approval.operation,
        execution_id=approval.execution_id,
        payload_digest=approval.payload_digest,
        status_code="OK",
        reason="APPROVAL_EXPIRED",
        detail={"approval_id": approval.approval_id},
    )


def session_opened(identity: Identity, route: str) -> AuditEvent:
    """A browser signed in with the development login link."""
    return AuditEvent(
        event_type=SESSION_OPENED,
        outcome=Outcome.SUCCEEDED,
        tenant=identity.tenant,
        caller=identity.caller,
        rpc_method=route,
    )
