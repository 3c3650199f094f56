"""Class B's gate: asking for, checking and using the approval of one exact action.

The policy layer asks for and checks approvals; the at-most-once bookkeeping uses one once it
has reserved a new execution, and gives it back when the vendor never acted. Both speak of the
action through one ``ApprovalSubject``, so the binding is computed in one place.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import NoReturn

from gateway.approvals.store import ApprovalStore
from gateway.approvals.subject import ApprovalSubject
from gateway.call import CallFacts
from gateway.errors import ApprovalRequired
from gateway.store.sqlite import UnitOfWork

APPROVAL_REQUESTED = "approval_requested"


class ApprovalGate:
    def __init__(self, store: ApprovalStore) -> None:
        self._store = store

    async def require(
        self, subject: ApprovalSubject, facts: CallFacts, where: Mapping[str, str]
    ) -> NoReturn:
        """Opens (or finds) the caller's pending request for this action and refuses the call
        with APPROVAL_REQUIRED naming it."""
        approval, _ = await self._store.request(
            **subject.binding(),
            payload=subject.full_payload(),
            payload_redacted=dict(subject.payload_redacted),
            requested_by=subject.caller,
        )
        facts.refusal_event = APPROVAL_REQUESTED
        facts.approval_id = approval.approval_id
        raise ApprovalRequired(
            f"{subject.connector_key}.{subject.operation} needs a person's approval of this "
            f"exact payload (policy class B). Approval {approval.approval_id} is pending: "
            "watch it with ApprovalService.WatchApproval and re-send this request with "
            "approval_id set once it is granted",
            metadata={**where, "approval_id": approval.approval_id},
        )

    async def check(self, approval_id: str, subject: ApprovalSubject) -> None:
        """The approval is granted, unused and bound to exactly this action and caller."""
        await self._store.check(approval_id=approval_id, caller=subject.caller, **subject.binding())

    async def use(
        self,
        approval_id: str,
        subject: ApprovalSubject,
        execution_id: str,
        unit: UnitOfWork | None = None,
    ) -> None:
        """Uses the approval once, for this execution; a second use is APPROVAL_USED."""
        await self._store.consume(
            approval_id=approval_id,
            caller=subject.caller,
            **subject.binding(),
            used_by_execution_id=execution_id,
            unit=unit,
        )

    async def give_back(
        self, approval_id: str, tenant: str, execution_id: str, unit: UnitOfWork | None = None
    ) -> None:
        """The execution that used it never reached the vendor: it may be used again."""
        await self._store.restore(
            tenant=tenant, approval_id=approval_id, used_by_execution_id=execution_id, unit=unit
        )
