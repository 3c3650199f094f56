"""ApprovalService: agents follow their approval requests; operators resolve them."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Callable
from datetime import datetime, timedelta

from google.protobuf import timestamp_pb2

from connectorgateway.v1 import approval_service_pb2 as apb
from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus
from gateway.approvals.sla import escalation_level, sla_compliance
from gateway.approvals.store import ApprovalStore
from gateway.clock import utc_now
from gateway.descriptors import to_struct
from gateway.errors import ApprovalNotFound
from gateway.interceptors.base import Call, Context

WATCH_POLL_S = 1.0  # also catches expiry, which no call announces
SLA_PERIOD = timedelta(days=30)

_STATUS = {
    ApprovalStatus.PENDING: apb.APPROVAL_STATUS_PENDING,
    ApprovalStatus.GRANTED: apb.APPROVAL_STATUS_GRANTED,
    ApprovalStatus.DENIED: apb.APPROVAL_STATUS_DENIED,
    ApprovalStatus.EXPIRED: apb.APPROVAL_STATUS_EXPIRED,
    ApprovalStatus.USED: apb.APPROVAL_STATUS_USED,
}
_FROM_STATUS = {v: k for k, v in _STATUS.items()}
FINAL = (ApprovalStatus.DENIED, ApprovalStatus.EXPIRED, ApprovalStatus.USED)


def _ts(moment: datetime | None) -> timestamp_pb2.Timestamp | None:
    if moment is None:
        return None
    ts = timestamp_pb2.Timestamp()
    ts.FromDatetime(moment)
    return ts


def to_message(approval: Approval, clocks: ApprovalClocks, now: datetime) -> apb.Approval:
    return apb.Approval(
        approval_id=approval.approval_id,
        connector_key=approval.connector_key,
        operation=approval.operation,
        payload_digest=approval.payload_digest,
        payload=to_struct(dict(approval.payload_redacted)),
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


class ApprovalNotifier:
    """Wakes the watchers of an approval when this process changes it."""

    def __init__(self) -> None:
        self._events: dict[str, asyncio.Event] = {}

    def event(self, approval_id: str) -> asyncio.Event:
        return self._events.setdefault(approval_id, asyncio.Event())

    def notify(self, approval_id: str) -> None:
        event = self._events.pop(approval_id, None)
        if event is not None:
            event.set()


async def decide(
    store: ApprovalStore,
    notifier: ApprovalNotifier,
    *,
    tenant: str,
    approval_id: str,
    approver: str,
    grant: bool,
    text: str,
    found: Callable[[Approval], None],
) -> Approval:
    """An operator grants (``text``: a note) or denies (``text``: the reason) an approval, and
    its watchers are woken. ``found`` sees the approval before the decision, so that a refused
    decision is audited with what it was about."""
    found(await store.get(tenant, approval_id))
    if grant:
        approval = await store.grant(
            tenant=tenant, approval_id=approval_id, approver=approver, note=text
        )
    else:
        approval = await store.deny(
            tenant=tenant, approval_id=approval_id, approver=approver, reason=text
        )
    notifier.notify(approval_id)
    return approval


class ApprovalServicer:
    def __init__(
        self,
        store: ApprovalStore,
        clocks: ApprovalClocks,
        notifier: ApprovalNotifier,
        *,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._store = store
        self._clocks = clocks
        self._notifier = notifier
        self._clock = clock

    def _message(self, approval: Approval) -> apb.Approval:
        return to_message(approval, self._clocks, self._clock())

    async def _visible(self, call: Call) -> Approval:
        """The approval, if the caller may see it: an operator of its tenant, or the caller
        that asked for it. Anyone else gets NOT_FOUND, as for an unknown id."""
        assert call.identity is not None
        approval = await self._store.get(call.identity.tenant, call.request.approval_id)
        if not call.identity.operator and approval.requested_by != call.identity.caller:
            raise ApprovalNotFound(
                f"no approval {call.request.approval_id!r}",
                metadata={"approval_id": call.request.approval_id},
            )
        self._describe(call, approval)
        return approval

    @staticmethod
    def _describe(call: Call, approval: Approval) -> None:
        call.facts.connector_key = approval.connector_key
        call.facts.operation = approval.operation
        call.facts.payload_digest = approval.payload_digest
        call.facts.execution_id = approval.execution_id

    async def ListApprovals(self, call: Call, ctx: Context) -> apb.ListApprovalsResponse:
        assert call.identity is not None
        status = _FROM_STATUS.get(call.request.status)
        listed = await self._store.list(call.identity.tenant, status, call.request.page_size or 100)
        now = self._clock()
        recent = await self._store.list(call.identity.tenant, None, 100_000)
        compliance = sla_compliance(
            recent, period_start=now - SLA_PERIOD, period_end=now, now=now, clocks=self._clocks
        )
        return apb.ListApprovalsResponse(
            approvals=[self._message(a) for a in listed],
            approval_sla_compliance=1.0 if compliance is None else compliance,
        )

    async def GetApproval(self, call: Call, ctx: Context) -> apb.GetApprovalResponse:
        return apb.GetApprovalResponse(approval=self._message(await self._visible(call)))

    async def WatchApproval(
        self, call: Call, ctx: Context
    ) -> AsyncIterator[apb.WatchApprovalResponse]:
        assert call.identity is not None
        approval = await self._visible(call)
        yield apb.WatchApprovalResponse(approval=self._message(approval))
        while approval.status is ApprovalStatus.PENDING:
            changed = self._notifier.event(approval.approval_id)
            try:
                async with asyncio.timeout(WATCH_POLL_S):
                    await changed.wait()
            except TimeoutError:
                pass
            latest = await self._store.get(call.identity.tenant, approval.approval_id)
            if latest != approval:
                approval = latest
                yield apb.WatchApprovalResponse(approval=self._message(approval))

    async def ApproveApproval(self, call: Call, ctx: Context) -> apb.ApproveApprovalResponse:
        approval = await self._decide(call, grant=True, text=call.request.note)
        return apb.ApproveApprovalResponse(approval=self._message(approval))

    async def DenyApproval(self, call: Call, ctx: Context) -> apb.DenyApprovalResponse:
        approval = await self._decide(call, grant=False, text=call.request.reason)
        return apb.DenyApprovalResponse(approval=self._message(approval))

    async def _decide(self, call: Call, *, grant: bool, text: str) -> Approval:
        assert call.identity is not None
        return await decide(
            self._store,
            self._notifier,
            tenant=call.identity.tenant,
            approval_id=call.request.approval_id,
            approver=call.identity.caller,
            grant=grant,
            text=text,
            found=lambda approval: self._describe(call, approval),
        )
