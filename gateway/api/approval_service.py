"""ApprovalService: agents follow their approval requests; operators resolve them."""

from __future__ import annotations

from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta
from typing import Any

from google.protobuf import timestamp_pb2

from connectorgateway.v1 import approval_service_pb2 as apb
from gateway.approvals.decisions import decide
from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus
from gateway.approvals.refusals import not_found
from gateway.approvals.sla import escalation_level
from gateway.approvals.store import ApprovalStore
from gateway.call import Admitted, Context
from gateway.clock import utc_now
from gateway.descriptors import to_struct
from gateway.identity import Identity
from gateway.paging import decode, page, page_size

SLA_PERIOD = timedelta(days=30)

_STATUS = {
    ApprovalStatus.PENDING: apb.APPROVAL_STATUS_PENDING,
    ApprovalStatus.GRANTED: apb.APPROVAL_STATUS_GRANTED,
    ApprovalStatus.DENIED: apb.APPROVAL_STATUS_DENIED,
    ApprovalStatus.EXPIRED: apb.APPROVAL_STATUS_EXPIRED,
    ApprovalStatus.USED: apb.APPROVAL_STATUS_USED,
}
_FROM_STATUS = {v: k for k, v in _STATUS.items()}


def status_number(status: ApprovalStatus | None) -> apb.ApprovalStatus:
    """The API's value for ``status``; unspecified (every status) for None."""
    return apb.APPROVAL_STATUS_UNSPECIFIED if status is None else _STATUS[status]


__all__ = ["ApprovalServicer", "status_number", "to_message"]


def _ts(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts


def to_message(
    approval: Approval, clocks: ApprovalClocks, now: datetime, *, full_payload: bool = False
) -> apb.Approval:
    """The approval as the API shows it. ``full_payload`` is for an operator of the approval's
    tenant, who must see the exact payload to approve it; anyone else gets the copy redacted by
    the operation's data classification. ``payload_full`` says which one was sent (requests
    stored before full payloads were kept have only the redacted copy)."""
    full = approval.payload if full_payload else None
    return apb.Approval(
        approval_id=approval.approval_id,
        connector_key=approval.connector_key,
        operation=approval.operation,
        payload_digest=approval.payload_digest,
        payload=to_struct(dict(full if full is not None else approval.payload_redacted)),
        payload_full=full is not None,
        execution_id=approval.execution_id,
        status=_STATUS[approval.status],
        requested_by=approval.requested_by,
        requested_at=_ts(approval.requested_at),
        resolved_by=approval.resolved_by or "",
        resolved_at=_ts(approval.resolved_at),
        reason=approval.reason or "",
        expires_at=_ts(approval.expires_at),
        use_by=_ts(approval.use_by),
        escalation_level=escalation_level(approval, now, clocks),
        used_by_execution_id=approval.used_by_execution_id or "",
    )


class ApprovalServicer:
    def __init__(
        self,
        store: ApprovalStore,
        *,
        watch_recheck_s: float,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._clocks = store.clocks
        self._recheck_s = watch_recheck_s
        self._clock = clock

    def _message(self, call: Admitted[Any], approval: Approval) -> apb.Approval:
        # The store answers only within the caller's tenant: an operator here is its operator.
        return to_message(
            approval, self._clocks, self._clock(), full_payload=call.identity.operator
        )

    @staticmethod
    def _visible(identity: Identity, approval: Approval) -> None:
        """An approval is seen by the operators of its tenant and by the caller that asked
        for it. Anyone else gets NOT_FOUND, exactly as for an unknown id."""
        if not identity.operator and approval.requested_by != identity.caller:
            raise not_found(approval.approval_id)

    async def _get_visible(self, call: Admitted[Any]) -> Approval:
        approval = await self._store.get(call.tenant, call.request.approval_id)
        self._visible(call.identity, approval)
        self._describe(call, approval)
        return approval

    @staticmethod
    def _describe(call: Admitted[Any], approval: Approval) -> None:
        call.facts.connector_key = approval.connector_key
        call.facts.operation = approval.operation
        call.facts.payload_digest = approval.payload_digest
        call.facts.execution_id = approval.execution_id

    async def ListApprovals(
        self, call: Admitted[apb.ListApprovalsRequest], ctx: Context
    ) -> apb.ListApprovalsResponse:
        tenant = call.tenant
        status = _FROM_STATUS.get(call.request.status)
        scope = f"approvals/{status.value if status else 'all'}"
        after = decode(call.request.page_token, scope)
        size = page_size(call.request.page_size)
        rows = await self._store.list(tenant, status, size + 1, after=after)
        shown, next_page_token = page(rows, size, ApprovalStore.cursor, scope)
        now = self._clock()
        compliance = await self._store.sla_compliance(
            tenant, period_start=now - SLA_PERIOD, period_end=now, now=now
        )
        return apb.ListApprovalsResponse(
            approvals=[self._message(call, a) for a in shown],
            approval_sla_compliance=1.0 if compliance is None else compliance,
            next_page_token=next_page_token,
        )

    async def GetApproval(
        self, call: Admitted[apb.GetApprovalRequest], ctx: Context
    ) -> apb.GetApprovalResponse:
        approval = await self._get_visible(call)
        return apb.GetApprovalResponse(approval=self._message(call, approval))

    async def WatchApproval(
        self, call: Admitted[apb.WatchApprovalRequest], ctx: Context
    ) -> AsyncIterator[apb.WatchApprovalResponse]:
        updates = self._store.watch(
            call.tenant, call.request.approval_id, recheck_s=self._recheck_s
        )
        try:
            first = True
            async for approval in updates:
                if first:
                    self._visible(call.identity, approval)
                    self._describe(call, approval)
                    first = False
                yield apb.WatchApprovalResponse(approval=self._message(call, approval))
        finally:
            await updates.aclose()

    async def ApproveApproval(
        self, call: Admitted[apb.ApproveApprovalRequest], ctx: Context
    ) -> apb.ApproveApprovalResponse:
        approval = await self._decide(call, grant=True, text=call.request.note)
        return apb.ApproveApprovalResponse(approval=self._message(call, approval))

    async def DenyApproval(
        self, call: Admitted[apb.DenyApprovalRequest], ctx: Context
    ) -> apb.DenyApprovalResponse:
        approval = await self._decide(call, grant=False, text=call.request.reason)
        return apb.DenyApprovalResponse(approval=self._message(call, approval))

    async def _decide(self, call: Admitted[Any], *, grant: bool, text: str) -> Approval:
        return await decide(
            self._store,
            tenant=call.tenant,
            approval_id=call.request.approval_id,
            approver=call.identity.caller,
            grant=grant,
            text=text,
            found=lambda approval: self._describe(call, approval),
        )
