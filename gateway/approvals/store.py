"""The approval store: find-or-create requests, grant or deny them, check and consume them.

Every method but :meth:`ApprovalStore.expire_due` takes the tenant and sees only that
tenant's rows: another tenant's approval id behaves exactly like an unknown one.

One connection, an ``asyncio.Lock`` and ``BEGIN IMMEDIATE … COMMIT`` around every change, as
in the ledger. The connection is expected to commit with ``synchronous=FULL``, so a grant,
denial or use is durable before the method returns.
"""

from __future__ import annotations

import builtins
import json
import secrets
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager
from dataclasses import dataclass, replace
from datetime import datetime
from typing import Any

import aiosqlite

from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus
from gateway.clock import from_text, to_text, utc_now
from gateway.errors import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalMismatch,
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovalPending,
    ApprovalUsed,
    GatewayError,
    SelfApprovalForbidden,
)
from gateway.store.sqlite import SerializedConnection

ID_PREFIX = "apr_"

_PENDING = ApprovalStatus.PENDING.value
_GRANTED = ApprovalStatus.GRANTED.value


@dataclass(frozen=True)
class _Binding:
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


def _time(text: str | None) -> datetime | None:
    return from_text(text) if text else None


def _approval(row: aiosqlite.Row) -> Approval:
    return Approval(
        approval_id=row["approval_id"],
        tenant=row["tenant"],
        connector_key=row["connector_key"],
        operation=row["operation"],
        payload_digest=row["payload_digest"],
        payload_redacted=json.loads(row["payload_redacted"]),
        execution_id=row["execution_id"],
        status=ApprovalStatus(row["status"]),
        requested_by=row["requested_by"],
        requested_at=from_text(row["requested_at"]),
        resolved_by=row["resolved_by"],
        resolved_at=_time(row["resolved_at"]),
        decided_at=_time(row["decided_at"]),
        reason=row["reason"],
        expires_at=from_text(row["expires_at"]),
        use_by=_time(row["use_by"]),
        used_by_execution_id=row["used_by_execution_id"],
        used_at=_time(row["used_at"]),
    )


def _meta(approval_id: str) -> dict[str, str]:
    return {"approval_id": approval_id}


def _check_binding(approval: Approval, wanted: _Binding) -> None:
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
                **_meta(approval.approval_id),
                "mismatch": ",".join(field for field, _ in differing),
            },
        )


def _expired_error(approval: Approval) -> ApprovalExpired:
    if approval.decided_at is not None:  # granted, then not used before use_by
        text = f"approval {approval.approval_id} was granted but not used in time"
    else:
        text = f"approval {approval.approval_id} expired before anyone answered it"
    return ApprovalExpired(
        text + ": re-send the request to ask for a new approval",
        metadata=_meta(approval.approval_id),
    )


def _refusal(approval: Approval) -> GatewayError | None:
    """Why a (not lapsed) approval cannot authorize its action now; None when it can."""
    approval_id = approval.approval_id
    match approval.status:
        case ApprovalStatus.GRANTED:
            return None
        case ApprovalStatus.PENDING:
            return ApprovalPending(
                f"approval {approval_id} is still waiting for a person's decision",
                metadata=_meta(approval_id),
            )
        case ApprovalStatus.DENIED:
            return ApprovalDenied(
                f"approval {approval_id} was denied: {approval.reason}",
                metadata=_meta(approval_id),
            )
        case ApprovalStatus.EXPIRED:
            return _expired_error(approval)
        case ApprovalStatus.USED:
            return ApprovalUsed(
                f"approval {approval_id} was already used by execution "
                f"{approval.used_by_execution_id}: a new action needs a new approval",
                metadata={
                    **_meta(approval_id),
                    "used_by_execution_id": approval.used_by_execution_id,
                },
            )


class ApprovalStore:
    def __init__(
        self,
        conn: aiosqlite.Connection,
        clocks: ApprovalClocks,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self._conn = conn
        self._clocks = clocks
        self._clock = clock
        self._serialized = SerializedConnection(conn)
        self._lock = self._serialized.lock

    @property
    def clocks(self) -> ApprovalClocks:
        return self._clocks

    def _transaction(self) -> AbstractAsyncContextManager[aiosqlite.Connection]:
        return self._serialized.transaction()

    async def _fetch(self, tenant: str, approval_id: str) -> Approval:
        async with self._conn.execute(
            "SELECT * FROM approval_requests WHERE tenant = ? AND approval_id = ?",
            (tenant, approval_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise ApprovalNotFound.for_id(approval_id)
        return _approval(row)

    async def _mark_expired(self, approval: Approval) -> Approval:
        """Marks a lapsed pending or granted approval expired as of its deadline."""
        moment = approval.deadline
        if moment is None:
            raise ValueError(f"a {approval.status.value} approval cannot lapse")
        await self._conn.execute(
            "UPDATE approval_requests SET status = ?, resolved_at = ? "
            "WHERE tenant = ? AND approval_id = ? AND status = ?",
            (
                ApprovalStatus.EXPIRED.value,
                to_text(moment),
                approval.tenant,
                approval.approval_id,
                approval.status.value,
            ),
        )
        return replace(approval, status=ApprovalStatus.EXPIRED, resolved_at=moment)

    # --- agents' side ------------------------------------------------------------------------

    async def request(
        self,
        *,
        tenant: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        payload_redacted: dict[str, Any],
        execution_id: str,
        requested_by: str,
    ) -> tuple[Approval, bool]:
        """The pending, unexpired request for this exact action, or a new one.

        Returns ``(approval, created)``. The action is the tenant, connector, operation,
        payload digest and execution id; who asks is not part of it, so a second caller asking
        for the same action gets the first caller's pending request. A lapsed pending request
        is left for :meth:`expire_due` (which reports it) and a new one is created."""
        if not requested_by:
            raise ValueError("requested_by is required")
        now = self._clock()
        async with self._transaction() as conn:
            async with conn.execute(
                "SELECT * FROM approval_requests WHERE tenant = ? AND connector_key = ? "
                "AND operation = ? AND payload_digest = ? AND execution_id = ? "
                "AND status = ? AND expires_at > ? ORDER BY requested_at DESC LIMIT 1",
                (
                    tenant,
                    connector_key,
                    operation,
                    payload_digest,
                    execution_id,
                    _PENDING,
                    to_text(now),
                ),
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                return _approval(row), False
            approval = Approval(
                approval_id=ID_PREFIX + secrets.token_hex(12),
                tenant=tenant,
                connector_key=connector_key,
                operation=operation,
                payload_digest=payload_digest,
                payload_redacted=payload_redacted,
                execution_id=execution_id,
                status=ApprovalStatus.PENDING,
                requested_by=requested_by,
                requested_at=now,
                resolved_by="",
                resolved_at=None,
                decided_at=None,
                reason="",
                expires_at=now + self._clocks.pending_ttl,
                use_by=None,
                used_by_execution_id="",
                used_at=None,
            )
            await conn.execute(
                "INSERT INTO approval_requests (approval_id, tenant, connector_key, operation, "
                "payload_digest, payload_redacted, execution_id, status, requested_by, "
                "requested_at, expires_at) VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    approval.approval_id,
                    tenant,
                    connector_key,
                    operation,
                    payload_digest,
                    json.dumps(payload_redacted, ensure_ascii=False),
                    execution_id,
                    _PENDING,
                    requested_by,
                    to_text(now),
                    to_text(approval.expires_at),
                ),
            )
        return approval, True

    async def _verify(
        self, tenant: str, approval_id: str, wanted: _Binding
    ) -> tuple[Approval, GatewayError | None]:
        """Inside a transaction: the approval and why it cannot be used now (None if it can).

        Raises ApprovalNotFound and ApprovalMismatch at once; a lapsed approval is marked
        expired, and its ApprovalExpired is returned so that the caller commits the mark."""
        approval = await self._fetch(tenant, approval_id)
        _check_binding(approval, wanted)
        if approval.lapsed(self._clock()):
            approval = await self._mark_expired(approval)
            return approval, _expired_error(approval)
        return approval, _refusal(approval)

    async def check(
        self,
        *,
        tenant: str,
        approval_id: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        execution_id: str,
    ) -> Approval:
        """The granted, unexpired approval for exactly this action, without using it.

        Raises, in this order: ApprovalNotFound; ApprovalMismatch (naming the parts that
        differ); ApprovalExpired (a pending request past expires_at or a granted one past
        use_by is marked expired first); ApprovalPending; ApprovalDenied (with the reason);
        ApprovalExpired; ApprovalUsed."""
        wanted = _Binding(connector_key, operation, payload_digest, execution_id)
        async with self._transaction():
            approval, error = await self._verify(tenant, approval_id, wanted)
        if error is not None:
            raise error
        return approval

    async def consume(
        self,
        *,
        tenant: str,
        approval_id: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        execution_id: str,
        used_by_execution_id: str,
    ) -> Approval:
        """Checks as :meth:`check` does, then marks the approval used by that execution.

        The mark is one conditional UPDATE (granted and use_by still ahead) in the same
        transaction as the checks, so of concurrent consumers exactly one succeeds; the
        others get ApprovalUsed."""
        wanted = _Binding(connector_key, operation, payload_digest, execution_id)
        async with self._transaction() as conn:
            approval, error = await self._verify(tenant, approval_id, wanted)
            if error is None:
                now = self._clock()
                cur = await conn.execute(
                    "UPDATE approval_requests SET status = ?, used_by_execution_id = ?, "
                    "used_at = ? WHERE tenant = ? AND approval_id = ? AND status = ? "
                    "AND use_by > ?",
                    (
                        ApprovalStatus.USED.value,
                        used_by_execution_id,
                        to_text(now),
                        tenant,
                        approval_id,
                        _GRANTED,
                        to_text(now),
                    ),
                )
                if cur.rowcount == 1:
                    approval = replace(
                        approval,
                        status=ApprovalStatus.USED,
                        used_by_execution_id=used_by_execution_id,
                        used_at=now,
                    )
                else:  # another writer used it between the check and the update
                    error = ApprovalUsed(
                        f"approval {approval_id} was already used: a new action needs a new "
                        "approval",
                        metadata=_meta(approval_id),
                    )
        if error is not None:
            raise error
        return approval

    async def restore(self, *, tenant: str, approval_id: str, used_by_execution_id: str) -> None:
        """Gives back an approval whose execution never reached the vendor (refused by the
        circuit breaker or the rate limit, connection refused, ...): the agent may re-send the
        same request with it. Only that execution's use is undone."""
        async with self._transaction() as conn:
            await conn.execute(
                "UPDATE approval_requests SET status = ?, used_by_execution_id = '', "
                "used_at = NULL WHERE tenant = ? AND approval_id = ? AND status = ? "
                "AND used_by_execution_id = ?",
                (_GRANTED, tenant, approval_id, ApprovalStatus.USED.value, used_by_execution_id),
            )

    # --- operators' side ---------------------------------------------------------------------

    async def get(self, tenant: str, approval_id: str) -> Approval:
        async with self._lock:
            return await self._fetch(tenant, approval_id)

    async def list(
        self, tenant: str, status: ApprovalStatus | None = None, limit: int = 100
    ) -> builtins.list[Approval]:
        """The tenant's approvals, newest first, optionally only those with ``status``."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = "SELECT * FROM approval_requests WHERE tenant = ?"
        args: tuple[str | int, ...] = (tenant,)
        if status is not None:
            query += " AND status = ?"
            args += (status.value,)
        query += " ORDER BY requested_at DESC, rowid DESC LIMIT ?"
        args += (limit,)
        async with self._lock, self._conn.execute(query, args) as cur:
            return [_approval(row) for row in await cur.fetchall()]

    async def grant(self, *, tenant: str, approval_id: str, approver: str, note: str) -> Approval:
        """Grants a pending request; it must then be used within ``use_within_s``."""
        return await self._decide(
            tenant=tenant,
            approval_id=approval_id,
            approver=approver,
            status=ApprovalStatus.GRANTED,
            reason=note,
        )

    async def deny(self, *, tenant: str, approval_id: str, approver: str, reason: str) -> Approval:
        """Denies a pending request; the reason is shown to the agent and is required."""
        if not reason.strip():
            raise ValueError("a denial needs a reason")
        return await self._decide(
            tenant=tenant,
            approval_id=approval_id,
            approver=approver,
            status=ApprovalStatus.DENIED,
            reason=reason,
        )

    async def _decide(
        self,
        *,
        tenant: str,
        approval_id: str,
        approver: str,
        status: ApprovalStatus,
        reason: str,
    ) -> Approval:
        """Raises, in this order: ApprovalNotFound; SelfApprovalForbidden; ApprovalExpired
        (already expired, or pending past expires_at, which is then marked expired);
        ApprovalNotPending (granted, denied or used)."""
        if not approver:
            raise ValueError("approver is required")
        error: GatewayError | None = None
        async with self._transaction() as conn:
            approval = await self._fetch(tenant, approval_id)
            if approver == approval.requested_by:
                raise SelfApprovalForbidden(
                    f"approval {approval_id} was requested by {approver}, who may not resolve "
                    "it: another person must",
                    metadata=_meta(approval_id),
                )
            now = self._clock()
            if approval.status is ApprovalStatus.PENDING and approval.lapsed(now):
                approval = await self._mark_expired(approval)
                error = _expired_error(approval)
            elif approval.status is ApprovalStatus.EXPIRED:
                error = _expired_error(approval)
            elif approval.status is not ApprovalStatus.PENDING:
                raise ApprovalNotPending(
                    f"approval {approval_id} is already {approval.status.value}",
                    metadata={**_meta(approval_id), "status": approval.status.value},
                )
            else:
                use_by = now + self._clocks.use_within if status is ApprovalStatus.GRANTED else None
                await conn.execute(
                    "UPDATE approval_requests SET status = ?, resolved_by = ?, resolved_at = ?, "
                    "decided_at = ?, reason = ?, use_by = ? "
                    "WHERE tenant = ? AND approval_id = ? AND status = ?",
                    (
                        status.value,
                        approver,
                        to_text(now),
                        to_text(now),
                        reason,
                        to_text(use_by) if use_by is not None else None,
                        tenant,
                        approval_id,
                        _PENDING,
                    ),
                )
                approval = replace(
                    approval,
                    status=status,
                    resolved_by=approver,
                    resolved_at=now,
                    decided_at=now,
                    reason=reason,
                    use_by=use_by,
                )
        if error is not None:
            raise error
        return approval

    # --- housekeeping ------------------------------------------------------------------------

    async def expire_due(self) -> builtins.list[Approval]:
        """Marks every pending request past expires_at and every granted approval past use_by
        expired, in all tenants, and returns every expired approval whose expiry is not yet
        recorded (in the order they lapsed), including those that check, consume, grant or
        deny found lapsed. Call ``expiry_recorded`` once each is in the audit trail: an expiry
        is reported until then, so none is lost to a crash in between.

        resolved_at is the moment each lapsed (expires_at or use_by), not now; a granted one
        keeps resolved_by, reason and decided_at."""
        now = to_text(self._clock())
        async with self._transaction() as conn:
            async with conn.execute(
                "SELECT * FROM approval_requests WHERE (status = ? AND expires_at <= ?) "
                "OR (status = ? AND use_by <= ?)",
                (_PENDING, now, _GRANTED, now),
            ) as cur:
                due = [_approval(row) for row in await cur.fetchall()]
            for approval in due:
                await self._mark_expired(approval)
            async with conn.execute(
                "SELECT * FROM approval_requests WHERE status = ? AND expiry_recorded = 0",
                (ApprovalStatus.EXPIRED.value,),
            ) as cur:
                expired = [_approval(row) for row in await cur.fetchall()]
        return sorted(expired, key=lambda a: (a.resolved_at or a.expires_at, a.requested_at))

    async def expiry_recorded(self, approval_ids: builtins.list[str]) -> None:
        """Notes that these expiries are in the audit trail."""
        async with self._transaction() as conn:
            await conn.executemany(
                "UPDATE approval_requests SET expiry_recorded = 1 WHERE approval_id = ?",
                [(approval_id,) for approval_id in approval_ids],
            )
