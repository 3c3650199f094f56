"""Watching an approval: woken by the store's own changes, asleep otherwise, ended by the
approval's deadline; and every change of the store wakes the approval's watchers."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import pytest

from gateway.approvals import Approval, ApprovalClocks, ApprovalStatus, ApprovalStore
from gateway.clock import utc_now
from gateway.errors import ApprovalNotFound, SelfApprovalForbidden
from tests.support.approval_store import (
    AGENT,
    OPERATOR,
    Env,
    action,
    binding,
    granted,
    store_env,
)

NEVER_S = 3600.0  # a re-check interval no test waits for


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with store_env(tmp_path / "gateway.db") as env:
        yield env


class Follower:
    """Runs a watch in a task and hands over what it yields."""

    def __init__(self, store: ApprovalStore, approval_id: str, recheck_s: float) -> None:
        self.seen: asyncio.Queue[Approval | None] = asyncio.Queue()
        self._task = asyncio.create_task(self._follow(store, approval_id, recheck_s))

    async def _follow(self, store: ApprovalStore, approval_id: str, recheck_s: float) -> None:
        async for approval in store.watch("acme", approval_id, recheck_s=recheck_s):
            await self.seen.put(approval)
        await self.seen.put(None)  # the watch ended

    async def next(self, timeout_s: float = 5.0) -> Approval | None:
        return await asyncio.wait_for(self.seen.get(), timeout_s)

    async def stop(self) -> None:
        self._task.cancel()
        await asyncio.gather(self._task, return_exceptions=True)


async def test_a_watch_sees_a_decision_as_soon_as_it_is_made(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    follower = Follower(env.store, approval.approval_id, NEVER_S)
    try:
        first = await follower.next()
        assert first is not None
        assert first.status is ApprovalStatus.PENDING
        await env.store.grant(
            tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note="ok"
        )
        update = await follower.next()
        assert update is not None
        assert update.status is ApprovalStatus.GRANTED
        assert await follower.next() is None  # resolved: the watch ends
    finally:
        await follower.stop()
    assert env.store.notifier.watched == 0


async def test_a_watch_reads_nothing_while_it_waits_and_ends_at_the_deadline(
    tmp_path: Path,
) -> None:
    clocks = ApprovalClocks(pending_ttl_s=1.5)
    async with store_env(tmp_path / "gateway.db", clocks, clock=utc_now) as env:
        approval, _ = await env.store.request(**action())
        statements: list[str] = []
        for conn in (env.db.reads, env.db.writes.conn):
            conn.set_trace_callback(statements.append)
        follower = Follower(env.store, approval.approval_id, NEVER_S)
        try:
            first = await follower.next()
            assert first is not None
            assert first.status is ApprovalStatus.PENDING
            reads_before = sum(s.startswith("SELECT") for s in statements)

            expired = await follower.next(timeout_s=15)

            assert expired is not None
            assert expired.status is ApprovalStatus.EXPIRED
            assert expired.resolved_at == approval.expires_at
            assert await follower.next() is None
            # One read when the deadline came, one more inside the transaction marking it.
            assert sum(s.startswith("SELECT") for s in statements) - reads_before <= 2
        finally:
            await follower.stop()
        # The expiry a watch noticed is still reported for the audit trail.
        [reported] = await env.store.expire_due()
        assert reported.approval_id == approval.approval_id


async def test_a_watch_rechecks_for_changes_made_by_another_process(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    async with store_env(env.path) as other:  # its own connection and notifier
        follower = Follower(env.store, approval.approval_id, recheck_s=0.2)
        try:
            assert (await follower.next()) is not None
            await other.store.grant(
                tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note=""
            )
            update = await follower.next(timeout_s=10)
            assert update is not None
            assert update.status is ApprovalStatus.GRANTED
        finally:
            await follower.stop()


async def test_a_watch_of_an_unknown_approval_is_not_found(env: Env) -> None:
    with pytest.raises(ApprovalNotFound):
        await anext(env.store.watch("acme", "apr_" + "0" * 24, recheck_s=NEVER_S))
    approval, _ = await env.store.request(**action())
    with pytest.raises(ApprovalNotFound):  # another tenant's
        await anext(env.store.watch("globex", approval.approval_id, recheck_s=NEVER_S))
    assert env.store.notifier.watched == 0


async def test_an_abandoned_watch_leaves_nothing_behind(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    updates = env.store.watch("acme", approval.approval_id, recheck_s=NEVER_S)
    await anext(updates)
    assert env.store.notifier.watched == 1
    await updates.aclose()
    assert env.store.notifier.watched == 0


Change = Callable[[Env, Approval], Awaitable[object]]


async def _grant(env: Env, approval: Approval) -> object:
    return await env.store.grant(
        tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note=""
    )


async def _deny(env: Env, approval: Approval) -> object:
    return await env.store.deny(
        tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, reason="no"
    )


async def _consume(env: Env, approval: Approval) -> object:
    return await env.store.consume(**binding(approval), used_by_execution_id="exec-1")


async def _restore(env: Env, approval: Approval) -> object:
    await _consume(env, approval)
    return await env.store.restore(
        tenant="acme", approval_id=approval.approval_id, used_by_execution_id="exec-1"
    )


async def _check_after_use_by(env: Env, approval: Approval) -> object:
    env.clock.advance(hours=2)  # it lapses; the check marks it expired
    return await asyncio.gather(env.store.check(**binding(approval)), return_exceptions=True)


async def _sweep(env: Env, approval: Approval) -> object:
    env.clock.advance(hours=2)
    return await env.store.expire_due()


@pytest.mark.parametrize(
    "change",
    [_grant, _deny, _consume, _restore, _check_after_use_by, _sweep],
    ids=["grant", "deny", "consume", "restore", "check-marks-expired", "expiry-sweep"],
)
async def test_every_change_wakes_the_approvals_watchers(env: Env, change: Change) -> None:
    if change in (_grant, _deny):
        approval, _ = await env.store.request(**action())
    else:
        approval = await granted(env)
    other, _ = await env.store.request(**action(requested_by="agent-other"))
    with (
        env.store.notifier.watching(approval.approval_id) as woken,
        env.store.notifier.watching(other.approval_id) as not_woken,
    ):
        await change(env, approval)
        assert woken.is_set()
        assert not not_woken.is_set()


async def test_a_refused_change_wakes_nobody(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    with env.store.notifier.watching(approval.approval_id) as woken:
        with pytest.raises(SelfApprovalForbidden):
            await env.store.grant(
                tenant="acme", approval_id=approval.approval_id, approver=AGENT, note=""
            )
        assert not woken.is_set()
