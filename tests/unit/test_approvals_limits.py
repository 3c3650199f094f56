"""What keeps the approval table bounded: a cap on each caller's pending requests, and the
pruning of settled approvals after their retention. Time is a hand-driven clock."""

from __future__ import annotations

import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path

import pytest

from gateway.approvals import ApprovalStatus
from gateway.approvals.store import PRUNE_BATCH
from gateway.errors import ApprovalNotFound, TooManyPendingApprovals
from tests.support.approval_store import (
    AGENT,
    OPERATOR,
    Env,
    action,
    binding,
    granted,
    numbered,
    store_env,
)

RETENTION = timedelta(days=90)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with store_env(tmp_path / "gateway.db", max_pending_per_caller=3) as env:
        yield env


async def pending_ids(env: Env) -> list[str]:
    return [a.approval_id for a in await env.store.list("acme", ApprovalStatus.PENDING, 100)]


# --- pending requests per caller -------------------------------------------------------------


async def test_a_caller_has_at_most_the_configured_number_of_pending_requests(env: Env) -> None:
    made = [(await env.store.request(**action(payload=numbered(i))))[0] for i in range(3)]

    with pytest.raises(TooManyPendingApprovals) as refused:
        await env.store.request(**action(payload=numbered(3)))

    assert refused.value.metadata == {"pending": "3", "limit": "3"}
    assert AGENT in refused.value.message
    assert sorted(await pending_ids(env)) == sorted(a.approval_id for a in made)  # none stored
    # Asking again for an action already pending is no new request.
    again, created = await env.store.request(**action(payload=numbered(1)))
    assert (again, created) == (made[1], False)
    # The cap is per caller.
    _, created = await env.store.request(**action(payload=numbered(3), requested_by="agent-b"))
    assert created


async def test_decided_and_lapsed_requests_make_room(env: Env) -> None:
    made = [(await env.store.request(**action(payload=numbered(i))))[0] for i in range(3)]
    await env.store.deny(
        tenant="acme", approval_id=made[0].approval_id, approver=OPERATOR, reason="no"
    )
    _, created = await env.store.request(**action(payload=numbered(3)))
    assert created
    with pytest.raises(TooManyPendingApprovals):
        await env.store.request(**action(payload=numbered(4)))

    env.clock.advance(hours=24)  # all three lapse, even before the sweep marks them
    _, created = await env.store.request(**action(payload=numbered(4)))
    assert created


async def test_the_cap_is_per_tenant(env: Env) -> None:
    for i in range(3):
        await env.store.request(**action(payload=numbered(i)))
    _, created = await env.store.request(**action(payload=numbered(3), tenant="globex"))
    assert created


# --- pruning ---------------------------------------------------------------------------------


async def test_settled_approvals_are_pruned_after_the_retention(env: Env) -> None:
    denied, _ = await env.store.request(**action(payload=numbered(1)))
    await env.store.deny(
        tenant="acme", approval_id=denied.approval_id, approver=OPERATOR, reason="no"
    )
    used = await granted(env, payload=numbered(2))
    await env.store.consume(**binding(used), used_by_execution_id="exec-2")
    unanswered, _ = await env.store.request(**action(payload=numbered(3)))
    env.clock.advance(days=1)  # the unanswered one expires at T0 + 24 h
    assert [a.approval_id for a in await env.store.expire_due()] == [unanswered.approval_id]
    await env.store.expiry_recorded([unanswered.approval_id])
    still_pending, _ = await env.store.request(**action(payload=numbered(4)))
    env.clock.advance(days=89)  # now T0 + 90 days: the first ones settled exactly 90 days ago

    assert await env.store.prune_settled(RETENTION) == 0
    env.clock.advance(seconds=1)
    assert await env.store.prune_settled(RETENTION) == 2  # denied and used, settled at T0
    env.clock.advance(days=1)
    assert await env.store.prune_settled(RETENTION) == 1  # expired at T0 + 24 h

    for gone in (denied, used, unanswered):
        with pytest.raises(ApprovalNotFound):
            await env.store.get("acme", gone.approval_id)
    env.clock.advance(days=400)  # pending (it has expired, but not marked yet) is never pruned
    assert await env.store.prune_settled(RETENTION) == 0
    assert (await env.store.get("acme", still_pending.approval_id)).status is (
        ApprovalStatus.PENDING
    )


async def test_granted_approvals_and_unrecorded_expiries_are_kept(env: Env) -> None:
    grant = await granted(env, payload=numbered(1))
    lapsed, _ = await env.store.request(**action(payload=numbered(2)))
    env.clock.advance(days=400)
    assert await env.store.prune_settled(RETENTION) == 0  # granted and pending: never
    await env.store.expire_due()  # both expire now; neither expiry is in the audit trail yet

    assert await env.store.prune_settled(RETENTION) == 0  # reported until recorded
    await env.store.expiry_recorded([grant.approval_id, lapsed.approval_id])
    assert await env.store.prune_settled(RETENTION) == 2


async def test_pruning_deletes_in_batches(env: Env) -> None:
    first, _ = await env.store.request(**action())
    await env.store.deny(
        tenant="acme", approval_id=first.approval_id, approver=OPERATOR, reason="no"
    )
    with sqlite3.connect(env.path) as conn:  # more settled rows than one batch deletes
        conn.row_factory = sqlite3.Row
        row = dict(conn.execute("SELECT * FROM approval_requests").fetchone())
        copies = [{**row, "approval_id": f"apr_copy{i}"} for i in range(PRUNE_BATCH * 2 + 3)]
        conn.executemany(
            f"INSERT INTO approval_requests ({', '.join(row)}) "
            f"VALUES ({', '.join(':' + column for column in row)})",
            copies,
        )
    env.clock.advance(days=91)

    assert await env.store.prune_settled(RETENTION) == PRUNE_BATCH * 2 + 4
    assert await env.store.list("acme") == []
