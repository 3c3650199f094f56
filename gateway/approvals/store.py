"""The approval store: find-or-create requests, grant or deny them, check and consume them,
follow them, and keep the table bounded.

Every method but the housekeeping ones (:meth:`ApprovalStore.expire_due`,
:meth:`ApprovalStore.prune_settled`) takes the tenant and sees only that tenant's rows: another
tenant's approval id behaves exactly like an unknown one. An approval is used only by the
caller that asked for it: to anyone else :meth:`check` and :meth:`consume` answer as for an
unknown id.

Changes run through the database's shared write connection (savepoints of a shared
``BEGIN IMMEDIATE`` transaction, group commit), as in the ledger; reads that change nothing use
its read connection. The connection is expected to commit with
``synchronous=FULL``, so a grant, denial or use is durable before the method returns. After
each commit the store wakes the watchers of every approval it changed (``notifier``).
"""

from __future__ import annotations

import asyncio
import builtins
import json
import secrets
from collections.abc import AsyncGenerator, AsyncIterator, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass, field, replace
from datetime import datetime, timedelta
from typing import Any

from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus
from gateway.approvals.notifier import ApprovalNotifier
from gateway.approvals.refusals import (
    Binding,
    check_binding,
    check_user,
    expired_error,
    meta,
    not_found,
    refusal,
)
from gateway.canonical import sha256_hex
from gateway.clock import from_text, to_text, utc_now
from gateway.errors import (
    ApprovalNotPending,
    ApprovalUsed,
    GatewayError,
    SelfApprovalForbidden,
    TooManyPendingApprovals,
)
from gateway.paging import Cursor
from gateway.store.sqlite import Connection, Database, Row, UnitOfWork

ID_PREFIX = "apr_"
DEFAULT_MAX_PENDING_PER_CALLER = 100
PRUNE_BATCH = 500  # rows deleted per transaction, so pruning never holds the store for long

_PENDING = ApprovalStatus.PENDING.value
_GRANTED = ApprovalStatus.GRANTED.value
_SETTLED = (
    ApprovalStatus.DENIED.value,
    ApprovalStatus.USED.value,
    ApprovalStatus.EXPIRED.value,
)


def _time(text: str | None) -> datetime | None:
    return from_text(text) if text else None


def _approval(row: Row) -> Approval:
    return Approval(
        approval_id=row["approval_id"],
        tenant=row["tenant"],
        connector_key=row["connector_key"],
        operation=row["operation"],
        payload_digest=row["payload_digest"],
        payload=json.loads(row["payload"]) if row["payload"] is not None else None,
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


@dataclass
class _Change:
    """One transaction's connection, and the approvals it changed (their watchers are woken
    once it has committed)."""

    conn: Connection
    changed: set[str] = field(default_factory=set)


class ApprovalStore:
    def __init__(
        self,
        db: Database,
        clocks: ApprovalClocks,
        clock: Callable[[], datetime] = utc_now,
        *,
        max_pending_per_caller: int = DEFAULT_MAX_PENDING_PER_CALLER,
    ) -> None:
        if max_pending_per_caller < 1:
            raise ValueError("max_pending_per_caller must be at least 1")
        self._serialized = db.writes
        self._conn = db.writes.conn  # inside a change only
        self._reads = db.reads
        self._clocks = clocks
        self._clock = clock
        self._max_pending = max_pending_per_caller
        self.notifier = ApprovalNotifier()

    @property
    def clocks(self) -> ApprovalClocks:
        return self._clocks

    @asynccontextmanager
    async def _changing(self, unit: UnitOfWork | None = None) -> AsyncIterator[_Change]:
        """A transaction (in ``unit``, if given); once it has committed, the watchers of what
        it changed are woken."""
        async with self._serialized.transaction(unit) as conn:
            change = _Change(conn)
            yield change
        committed = unit.last if unit is not None else None
        if committed is None:
            self._notify(change.changed)
        elif change.changed:
            committed.add_done_callback(lambda _: self._notify(change.changed))

    def _notify(self, changed: set[str]) -> None:
        for approval_id in changed:
            self.notifier.notify(approval_id)

    async def _fetch(
        self, tenant: str, approval_id: str, conn: Connection | None = None
    ) -> Approval:
        async with (conn or self._conn).execute(
            "SELECT * FROM approval_requests WHERE tenant = ? AND approval_id = ?",
            (tenant, approval_id),
        ) as cur:
            row = await cur.fetchone()
        if row is None:
            raise not_found(approval_id)
        return _approval(row)

    @staticmethod
    async def _mark_expired(change: _Change, approval: Approval) -> Approval:
        """Marks a lapsed pending or granted approval expired as of its deadline."""
        moment = approval.deadline
        if moment is None:
            raise ValueError(f"a {approval.status.value} approval cannot lapse")
        await change.conn.execute(
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
        change.changed.add(approval.approval_id)
        return replace(approval, status=ApprovalStatus.EXPIRED, resolved_at=moment)

    # --- agents' side ------------------------------------------------------------------------

    async def request(
        self,
        *,
        tenant: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        payload: dict[str, Any],
        payload_redacted: dict[str, Any],
        execution_id: str,
        requested_by: str,
    ) -> tuple[Approval, bool]:
        """The caller's pending, unexpired request for this exact action, or a new one.

        Returns ``(approval, created)``. The action is the tenant, connector, operation,
        payload digest and execution id, and each caller has its own request: a second caller
        asking for the same action opens its own, which only that caller may use. ``payload``
        is the validated payload (``payload_digest`` must be its digest), kept for the tenant's
        operators; ``payload_redacted`` is what anyone else sees.

        A new request is refused (TooManyPendingApprovals, nothing stored) when the caller
        already has ``max_pending_per_caller`` requests pending. A lapsed pending request is
        left for :meth:`expire_due` (which reports it) and a new one is created."""
        if not requested_by:
            raise ValueError("requested_by is required")
        if sha256_hex(payload) != payload_digest:
            raise ValueError("payload_digest is not the digest of payload")
        now = self._clock()
        async with self._changing() as change:
            async with change.conn.execute(
                "SELECT * FROM approval_requests WHERE tenant = ? AND requested_by = ? "
                "AND status = ? AND payload_digest = ? AND connector_key = ? AND operation = ? "
                "AND execution_id = ? AND expires_at > ? ORDER BY requested_at DESC LIMIT 1",
                (
                    tenant,
                    requested_by,
                    _PENDING,
                    payload_digest,
                    connector_key,
                    operation,
                    execution_id,
                    to_text(now),
                ),
            ) as cur:
                row = await cur.fetchone()
            if row is not None:
                return _approval(row), False
            await self._check_room(change.conn, tenant, requested_by, now)
            approval = Approval(
                approval_id=ID_PREFIX + secrets.token_hex(12),
                tenant=tenant,
                connector_key=connector_key,
                operation=operation,
                payload_digest=payload_digest,
                payload=payload,
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
            await change.conn.execute(
                "INSERT INTO approval_requests (approval_id, tenant, connector_key, operation, "
                "payload_digest, payload, payload_redacted, execution_id, status, requested_by, "
                "requested_at, expires_at, sla_breach_at) "
                "VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)",
                (
                    approval.approval_id,
                    tenant,
                    connector_key,
                    operation,
                    payload_digest,
                    json.dumps(payload, ensure_ascii=False),
                    json.dumps(payload_redacted, ensure_ascii=False),
                    execution_id,
                    _PENDING,
                    requested_by,
                    to_text(now),
                    to_text(approval.expires_at),
                    to_text(now + self._clocks.sla_breach),
                ),
            )
        return approval, True

    async def _check_room(
        self, conn: Connection, tenant: str, requested_by: str, now: datetime
    ) -> None:
        async with conn.execute(
            "SELECT COUNT(*) FROM approval_requests WHERE tenant = ? AND requested_by = ? "
            "AND status = ? AND expires_at > ?",
            (tenant, requested_by, _PENDING, to_text(now)),
        ) as cur:
            row = await cur.fetchone()
        pending = int(row[0]) if row else 0
        if pending >= self._max_pending:
            raise TooManyPendingApprovals(
                f"caller {requested_by} already has {pending} approval requests waiting for a "
                f"decision, the most it may have ({self._max_pending}): re-send once some are "
                "decided or have expired",
                metadata={"pending": str(pending), "limit": str(self._max_pending)},
            )

    async def _verify(
        self, change: _Change, tenant: str, approval_id: str, caller: str, wanted: Binding
    ) -> tuple[Approval, GatewayError | None]:
        """Inside a transaction: the approval and why it cannot be used now (None if it can).

        Raises ApprovalNotFound (also for another caller's approval), SelfApprovalForbidden
        and ApprovalMismatch at once; a lapsed approval is marked expired, and its
        ApprovalExpired is returned so that the caller commits the mark."""
        approval = await self._fetch(tenant, approval_id)
        check_user(approval, caller)
        check_binding(approval, wanted)
        if approval.lapsed(self._clock()):
            approval = await self._mark_expired(change, approval)
            return approval, expired_error(approval)
        return approval, refusal(approval)

    async def check(
        self,
        *,
        tenant: str,
        approval_id: str,
        caller: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        execution_id: str,
    ) -> Approval:
        """The granted, unexpired approval for exactly this action, without using it.

        Raises, in this order: ApprovalNotFound (also when ``caller`` did not request it);
        SelfApprovalForbidden (``caller`` decided it); ApprovalMismatch (naming the parts that
        differ); ApprovalExpired (a pending request past expires_at or a granted one past
        use_by is marked expired first); ApprovalPending; ApprovalDenied (with the reason);
        ApprovalExpired; ApprovalUsed."""
        wanted = Binding(connector_key, operation, payload_digest, execution_id)
        async with self._changing() as change:
            approval, error = await self._verify(change, tenant, approval_id, caller, wanted)
        if error is not None:
            raise error
        return approval

    async def consume(
        self,
        *,
        tenant: str,
        approval_id: str,
        caller: str,
        connector_key: str,
        operation: str,
        payload_digest: str,
        execution_id: str,
        used_by_execution_id: str,
        unit: UnitOfWork | None = None,
    ) -> Approval:
        """Checks as :meth:`check` does, then marks the approval used by that execution.

        The mark is one conditional UPDATE (granted and use_by still ahead) in the same
        transaction as the checks, so of concurrent consumers exactly one succeeds; the
        others get ApprovalUsed."""
        wanted = Binding(connector_key, operation, payload_digest, execution_id)
        async with self._changing(unit) as change:
            approval, error = await self._verify(change, tenant, approval_id, caller, wanted)
            if error is None:
                now = self._clock()
                cur = await change.conn.execute(
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
                    change.changed.add(approval_id)
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
                        metadata=meta(approval_id),
                    )
        if error is not None:
            raise error
        return approval

    async def restore(
        self,
        *,
        tenant: str,
        approval_id: str,
        used_by_execution_id: str,
        unit: UnitOfWork | None = None,
    ) -> None:
        """Gives back an approval whose execution never reached the vendor (refused by the
        circuit breaker or the rate limit, connection refused, ...): the agent may re-send the
        same request with it. Only that execution's use is undone."""
        async with self._changing(unit) as change:
            cur = await change.conn.execute(
                "UPDATE approval_requests SET status = ?, used_by_execution_id = '', "
                "used_at = NULL WHERE tenant = ? AND approval_id = ? AND status = ? "
                "AND used_by_execution_id = ?",
                (_GRANTED, tenant, approval_id, ApprovalStatus.USED.value, used_by_execution_id),
            )
            if cur.rowcount == 1:
                change.changed.add(approval_id)

    async def watch(
        self, tenant: str, approval_id: str, *, recheck_s: float
    ) -> AsyncGenerator[Approval, None]:
        """The approval now, then again at each change, until it is no longer pending.

        Between changes it reads nothing: it sleeps until this store changes the approval or
        until its deadline, when it is marked expired (and the expiry sweep records it). Every
        ``recheck_s`` it reads the approval once more, for changes made by another process
        sharing the database. Raises ApprovalNotFound at once for an unknown id."""
        with self.notifier.watching(approval_id) as changed:
            shown: Approval | None = None
            while True:
                changed.clear()
                approval = await self._current(tenant, approval_id)
                if approval != shown:
                    shown = approval
                    yield approval
                if approval.status is not ApprovalStatus.PENDING:
                    return
                await self._wait(changed, approval.expires_at, recheck_s)

    async def _current(self, tenant: str, approval_id: str) -> Approval:
        """The approval, marked expired first if its deadline has passed."""
        approval = await self.get(tenant, approval_id)
        if not approval.lapsed(self._clock()):
            return approval
        async with self._changing() as change:
            approval = await self._fetch(tenant, approval_id)
            if approval.lapsed(self._clock()):
                approval = await self._mark_expired(change, approval)
        return approval

    async def _wait(self, changed: asyncio.Event, deadline: datetime, recheck_s: float) -> None:
        """Returns at a change, once ``deadline`` has passed, or after ``recheck_s``."""
        loop = asyncio.get_running_loop()
        recheck_at = loop.time() + recheck_s
        while True:
            left = min((deadline - self._clock()).total_seconds(), recheck_at - loop.time())
            if left <= 0:
                return
            try:
                async with asyncio.timeout(left):
                    await changed.wait()
            except TimeoutError:
                continue  # the deadline or the re-check may be due now: measured above
            return

    # --- operators' side ---------------------------------------------------------------------

    async def get(self, tenant: str, approval_id: str) -> Approval:
        return await self._fetch(tenant, approval_id, self._reads)

    async def used_by(self, tenant: str, execution_id: str) -> Approval | None:
        """The approval an execution used (and with it the payload it ran with), if any."""
        async with self._reads.execute(
            "SELECT * FROM approval_requests WHERE tenant = ? AND used_by_execution_id = ? LIMIT 1",
            (tenant, execution_id),
        ) as cur:
            row = await cur.fetchone()
        return _approval(row) if row is not None else None

    async def pending_counts(self, tenant: str) -> dict[tuple[str, str], int]:
        """The tenant's requests waiting for a decision, by connector and operation."""
        async with self._reads.execute(
            "SELECT connector_key, operation, COUNT(*) FROM approval_requests "
            "WHERE tenant = ? AND status = ? AND expires_at > ? "
            "GROUP BY connector_key, operation",
            (tenant, _PENDING, to_text(self._clock())),
        ) as cur:
            rows = await cur.fetchall()
        return {(str(row[0]), str(row[1])): int(row[2]) for row in rows}

    async def list(
        self,
        tenant: str,
        status: ApprovalStatus | None = None,
        limit: int = 100,
        *,
        after: Cursor | None = None,
    ) -> builtins.list[Approval]:
        """The tenant's approvals, newest first (then by id), optionally only those with
        ``status``, and only those after ``after`` in that order (the next page)."""
        if limit < 1:
            raise ValueError("limit must be at least 1")
        query = "SELECT * FROM approval_requests WHERE tenant = ?"
        args: tuple[str | int, ...] = (tenant,)
        if status is not None:
            query += " AND status = ?"
            args += (status.value,)
        if after is not None:
            query += " AND (requested_at, approval_id) < (?, ?)"
            args += (after.moment, after.key)
        query += " ORDER BY requested_at DESC, approval_id DESC LIMIT ?"
        args += (limit,)
        async with self._reads.execute(query, args) as cur:
            return [_approval(row) for row in await cur.fetchall()]

    @staticmethod
    def cursor(approval: Approval) -> Cursor:
        """Where a page that ends with this approval ends, for :meth:`list`'s ``after``."""
        return Cursor(to_text(approval.requested_at), approval.approval_id)

    async def sla_compliance(
        self, tenant: str, *, period_start: datetime, period_end: datetime, now: datetime
    ) -> float | None:
        """:func:`gateway.approvals.sla.sla_compliance` over the tenant's stored approvals:
        :meth:`sla_counts` as a fraction, None when nothing fell due."""
        met, due = await self.sla_counts(
            tenant, period_start=period_start, period_end=period_end, now=now
        )
        return met / due if due else None

    async def sla_counts(
        self, tenant: str, *, period_start: datetime, period_end: datetime, now: datetime
    ) -> tuple[int, int]:
        """The tenant's approvals answered within the SLA, and all that fell due, in
        ``[period_start, period_end)`` and by ``now``: two counts on indexes, no rows read.

        Each request's breach time was stored when it was made (``sla_breach_at``). An
        approval answered in time falls due at ``decided_at``; any other at its breach time."""
        start, end, upto = to_text(period_start), to_text(period_end), to_text(now)
        async with (
            self._reads.execute(
                "SELECT "
                "(SELECT COUNT(*) FROM approval_requests WHERE tenant = ? "
                " AND decided_at >= ? AND decided_at < ? AND decided_at <= ? "
                " AND decided_at < sla_breach_at), "
                "(SELECT COUNT(*) FROM approval_requests WHERE tenant = ? "
                " AND sla_breach_at >= ? AND sla_breach_at < ? AND sla_breach_at <= ? "
                " AND (decided_at IS NULL OR decided_at >= sla_breach_at))",
                (tenant, start, end, upto, tenant, start, end, upto),
            ) as cur,
        ):
            row = await cur.fetchone()
        met, breached = (int(row[0]), int(row[1])) if row else (0, 0)
        return met, met + breached

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
        async with self._changing() as change:
            approval = await self._fetch(tenant, approval_id)
            if approver == approval.requested_by:
                raise SelfApprovalForbidden(
                    f"approval {approval_id} was requested by {approver}, who may not resolve "
                    "it: another person must",
                    metadata=meta(approval_id),
                )
            now = self._clock()
            if approval.status is ApprovalStatus.PENDING and approval.lapsed(now):
                approval = await self._mark_expired(change, approval)
                error = expired_error(approval)
            elif approval.status is ApprovalStatus.EXPIRED:
                error = expired_error(approval)
            elif approval.status is not ApprovalStatus.PENDING:
                raise ApprovalNotPending(
                    f"approval {approval_id} is already {approval.status.value}",
                    metadata={**meta(approval_id), "status": approval.status.value},
                )
            else:
                use_by = now + self._clocks.use_within if status is ApprovalStatus.GRANTED else None
                await change.conn.execute(
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
                change.changed.add(approval_id)
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
        recorded (in the order they lapsed), including those that check, consume, grant,
        deny or a watch found lapsed. Call ``expiry_recorded`` once each is in the audit
        trail: an expiry is reported until then, so none is lost to a crash in between.

        resolved_at is the moment each lapsed (expires_at or use_by), not now; a granted one
        keeps resolved_by, reason and decided_at."""
        now = to_text(self._clock())
        async with self._changing() as change:
            async with change.conn.execute(
                "SELECT * FROM approval_requests WHERE (status = ? AND expires_at <= ?) "
                "OR (status = ? AND use_by <= ?)",
                (_PENDING, now, _GRANTED, now),
            ) as cur:
                due = [_approval(row) for row in await cur.fetchall()]
            for approval in due:
                await self._mark_expired(change, approval)
            async with change.conn.execute(
                "SELECT * FROM approval_requests WHERE status = ? AND expiry_recorded = 0",
                (ApprovalStatus.EXPIRED.value,),
            ) as cur:
                expired = [_approval(row) for row in await cur.fetchall()]
        return sorted(expired, key=lambda a: (a.resolved_at or a.expires_at, a.requested_at))

    async def expiry_recorded(self, approval_ids: builtins.list[str]) -> None:
        """Notes that these expiries are in the audit trail."""
        async with self._changing() as change:
            await change.conn.executemany(
                "UPDATE approval_requests SET expiry_recorded = 1 WHERE approval_id = ?",
                [(approval_id,) for approval_id in approval_ids],
            )

    async def prune_settled(self, retention: timedelta) -> int:
        """Deletes, in all tenants, the approvals settled longer than ``retention`` ago: denied,
        used, and expired ones whose expiry is in the audit trail. Pending and granted ones are
        never deleted. A deleted approval answers APPROVAL_NOT_FOUND. Returns how many."""
        cutoff = to_text(self._clock() - retention)
        pruned = 0
        while True:
            async with self._changing() as change:
                cur = await change.conn.execute(
                    "DELETE FROM approval_requests WHERE approval_id IN ("
                    " SELECT approval_id FROM approval_requests"
                    " WHERE status IN (?, ?, ?) AND resolved_at < ?"
                    " AND COALESCE(used_at, resolved_at) < ?"
                    " AND (status != ? OR expiry_recorded = 1) LIMIT ?)",
                    (*_SETTLED, cutoff, cutoff, ApprovalStatus.EXPIRED.value, PRUNE_BATCH),
                )
                deleted = cur.rowcount
            pruned += deleted
            if deleted < PRUNE_BATCH:
                return pruned
