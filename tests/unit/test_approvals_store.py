"""The approval store on a real SQLite file: find-or-create, decisions, checks, single use,
expiry and tenant isolation. Time is a hand-driven clock; nothing sleeps."""

from __future__ import annotations

import asyncio
import re
import sqlite3
from collections.abc import AsyncIterator
from datetime import timedelta
from pathlib import Path
from typing import Any

import pytest

from gateway.approvals import Approval, ApprovalClocks, ApprovalStatus, ApprovalStore
from gateway.errors import (
    ApprovalDenied,
    ApprovalExpired,
    ApprovalMismatch,
    ApprovalNotFound,
    ApprovalNotPending,
    ApprovalPending,
    ApprovalUsed,
    SelfApprovalForbidden,
)
from gateway.store.sqlite import Database
from tests.support.approval_store import (
    AGENT,
    DIGEST,
    OPERATOR,
    OTHER_DIGEST,
    OTHER_PAYLOAD,
    PAYLOAD,
    REDACTED,
    T0,
    Env,
    action,
    binding,
    granted,
    numbered,
    store_env,
)


@pytest.fixture
async def env(tmp_path: Path) -> AsyncIterator[Env]:
    async with store_env(tmp_path / "gateway.db") as env:
        yield env


# --- find-or-create --------------------------------------------------------------------------


async def test_request_creates_a_pending_approval(env: Env) -> None:
    approval, created = await env.store.request(**action())

    assert created
    assert re.fullmatch(r"apr_[0-9a-f]{24}", approval.approval_id)
    assert approval.status is ApprovalStatus.PENDING
    assert approval.requested_at == T0
    assert approval.expires_at == T0 + timedelta(hours=24)
    assert approval.use_by is None
    assert approval.resolved_at is None
    assert approval.decided_at is None
    assert await env.store.get("acme", approval.approval_id) == approval


async def test_request_keeps_the_full_payload_and_the_redacted_copy(env: Env) -> None:
    approval, _ = await env.store.request(**action())

    stored = await env.store.get("acme", approval.approval_id)
    assert (stored.payload, stored.payload_redacted) == (PAYLOAD, REDACTED)
    assert stored.payload_digest == DIGEST
    with pytest.raises(ValueError, match="digest"):  # never shown a payload it is not bound to
        await env.store.request(**{**action(), "payload_digest": OTHER_DIGEST})


async def test_request_reuses_the_callers_own_pending_request(env: Env) -> None:
    first, created = await env.store.request(**action())
    env.clock.advance(hours=23)
    again, created_again = await env.store.request(**action())

    assert created
    assert not created_again
    assert again == first


async def test_another_caller_asking_for_the_same_action_opens_its_own_request(
    env: Env,
) -> None:
    agents, _ = await env.store.request(**action())
    operators, created = await env.store.request(**action(requested_by=OPERATOR))

    assert created
    assert operators.approval_id != agents.approval_id
    assert (agents.requested_by, operators.requested_by) == (AGENT, OPERATOR)
    again, created_again = await env.store.request(**action())
    assert (again, created_again) == (agents, False)


@pytest.mark.parametrize(
    "change",
    [
        {"connector_key": "email"},
        {"operation": "charge"},
        {"payload": OTHER_PAYLOAD},
        {"execution_id": "exec-1"},
        {"tenant": "globex"},
    ],
)
async def test_another_action_gets_its_own_request(env: Env, change: dict[str, Any]) -> None:
    first, _ = await env.store.request(**action())
    other, created = await env.store.request(**action(**change))

    assert created
    assert other.approval_id != first.approval_id


async def test_a_new_request_after_a_denial(env: Env) -> None:
    first, _ = await env.store.request(**action())
    await env.store.deny(
        tenant="acme", approval_id=first.approval_id, approver=OPERATOR, reason="too large"
    )

    second, created = await env.store.request(**action())

    assert created
    assert second.approval_id != first.approval_id


async def test_a_new_request_after_expiry_and_the_old_one_is_left_for_the_sweep(
    env: Env,
) -> None:
    first, _ = await env.store.request(**action())
    env.clock.advance(hours=24)

    second, created = await env.store.request(**action())

    assert created
    assert second.approval_id != first.approval_id
    assert second.expires_at == T0 + timedelta(hours=48)
    expired = await env.store.expire_due()
    assert [a.approval_id for a in expired] == [first.approval_id]
    again, created_again = await env.store.request(**action())
    assert again == second
    assert not created_again


async def test_a_new_request_after_the_approval_was_used(env: Env) -> None:
    approval = await granted(env)
    await env.store.consume(**binding(approval), used_by_execution_id="exec-1")

    second, created = await env.store.request(**action())

    assert created
    assert second.approval_id != approval.approval_id


# --- tenant isolation ------------------------------------------------------------------------


async def test_another_tenants_approval_is_unknown_to_every_method(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    foreign = binding(approval, tenant="globex")

    with pytest.raises(ApprovalNotFound):
        await env.store.get("globex", approval.approval_id)
    with pytest.raises(ApprovalNotFound):
        await env.store.grant(
            tenant="globex", approval_id=approval.approval_id, approver=OPERATOR, note=""
        )
    with pytest.raises(ApprovalNotFound):
        await env.store.deny(
            tenant="globex", approval_id=approval.approval_id, approver=OPERATOR, reason="no"
        )
    with pytest.raises(ApprovalNotFound):
        await env.store.check(**foreign)
    with pytest.raises(ApprovalNotFound):
        await env.store.consume(**foreign, used_by_execution_id="exec-1")
    assert await env.store.list("globex") == []
    assert await env.store.list("globex", ApprovalStatus.PENDING) == []

    # Now granted in its own tenant: still invisible to the other one.
    await env.store.grant(
        tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note=""
    )
    with pytest.raises(ApprovalNotFound):
        await env.store.check(**foreign)
    with pytest.raises(ApprovalNotFound):
        await env.store.consume(**foreign, used_by_execution_id="exec-1")

    env.clock.advance(hours=2)  # past use_by: the sweep reports it with its own tenant
    assert [(a.tenant, a.approval_id) for a in await env.store.expire_due()] == [
        ("acme", approval.approval_id)
    ]
    with pytest.raises(ApprovalNotFound):
        await env.store.get("globex", approval.approval_id)
    assert await env.store.list("globex") == []


async def test_unknown_id_answers_like_a_foreign_one(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    with pytest.raises(ApprovalNotFound) as unknown:
        await env.store.get("acme", "apr_" + "0" * 24)
    with pytest.raises(ApprovalNotFound) as foreign:
        await env.store.get("globex", approval.approval_id)

    assert type(unknown.value) is type(foreign.value)
    assert unknown.value.message.replace("0" * 24, "X") == foreign.value.message.replace(
        approval.approval_id.removeprefix("apr_"), "X"
    )


# --- decisions -------------------------------------------------------------------------------


async def test_grant_sets_the_use_by_time(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    env.clock.advance(hours=5)

    done = await env.store.grant(
        tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note="checked"
    )

    assert done.status is ApprovalStatus.GRANTED
    assert done.resolved_by == OPERATOR
    assert done.resolved_at == done.decided_at == T0 + timedelta(hours=5)
    assert done.use_by == T0 + timedelta(hours=6)
    assert done.reason == "checked"
    assert await env.store.get("acme", approval.approval_id) == done


async def test_the_requester_may_not_resolve_its_own_request(env: Env) -> None:
    approval, _ = await env.store.request(**action())

    with pytest.raises(SelfApprovalForbidden):
        await env.store.grant(
            tenant="acme", approval_id=approval.approval_id, approver=AGENT, note=""
        )
    with pytest.raises(SelfApprovalForbidden):
        await env.store.deny(
            tenant="acme", approval_id=approval.approval_id, approver=AGENT, reason="never mind"
        )
    assert (await env.store.get("acme", approval.approval_id)).status is ApprovalStatus.PENDING


async def test_deny_needs_a_reason(env: Env) -> None:
    approval, _ = await env.store.request(**action())

    with pytest.raises(ValueError, match="reason"):
        await env.store.deny(
            tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, reason="  "
        )
    assert (await env.store.get("acme", approval.approval_id)).status is ApprovalStatus.PENDING


async def test_only_a_pending_request_can_be_resolved(env: Env) -> None:
    approval = await granted(env)

    with pytest.raises(ApprovalNotPending, match="already granted"):
        await env.store.grant(
            tenant="acme", approval_id=approval.approval_id, approver="bob", note=""
        )
    with pytest.raises(ApprovalNotPending, match="already granted"):
        await env.store.deny(
            tenant="acme", approval_id=approval.approval_id, approver="bob", reason="no"
        )
    assert await env.store.get("acme", approval.approval_id) == approval


async def test_resolving_a_lapsed_request_marks_it_expired(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    env.clock.advance(hours=24)

    with pytest.raises(ApprovalExpired):
        await env.store.grant(
            tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, note=""
        )
    stored = await env.store.get("acme", approval.approval_id)
    assert stored.status is ApprovalStatus.EXPIRED
    assert stored.resolved_at == approval.expires_at
    assert stored.resolved_by == ""
    with pytest.raises(ApprovalExpired):  # and once marked, still expired
        await env.store.deny(
            tenant="acme", approval_id=approval.approval_id, approver=OPERATOR, reason="late"
        )


# --- check and consume -----------------------------------------------------------------------


async def test_only_the_caller_that_asked_may_use_an_approval(env: Env) -> None:
    approval = await granted(env)  # asked for by AGENT, granted by OPERATOR
    with pytest.raises(ApprovalNotFound) as unknown:
        await env.store.check(**binding(approval, approval_id="apr_" + "0" * 24))

    for caller in (OPERATOR, "agent-other"):
        for attempt in (
            env.store.check(**binding(approval, caller=caller)),
            env.store.consume(**binding(approval, caller=caller), used_by_execution_id="x"),
        ):
            with pytest.raises(ApprovalNotFound) as refused:
                await attempt
            # Exactly what an unknown id gets: nothing says the approval exists.
            assert refused.value.message.replace(approval.approval_id, "ID") == (
                unknown.value.message.replace("apr_" + "0" * 24, "ID")
            )

    assert await env.store.get("acme", approval.approval_id) == approval  # not spent
    used = await env.store.consume(**binding(approval), used_by_execution_id="exec-1")
    assert used.status is ApprovalStatus.USED


async def test_whoever_decided_an_approval_never_uses_it(env: Env) -> None:
    approval = await granted(env)
    # A row whose requester is also its approver, which decisions never write.
    with sqlite3.connect(env.path) as conn:
        conn.execute(
            "UPDATE approval_requests SET resolved_by = requested_by WHERE approval_id = ?",
            (approval.approval_id,),
        )

    with pytest.raises(SelfApprovalForbidden):
        await env.store.check(**binding(approval))
    with pytest.raises(SelfApprovalForbidden):
        await env.store.consume(**binding(approval), used_by_execution_id="exec-1")
    assert (await env.store.get("acme", approval.approval_id)).status is ApprovalStatus.GRANTED


async def test_grant_then_consume_once(env: Env) -> None:
    approval = await granted(env)
    env.clock.advance(minutes=10)

    checked = await env.store.check(**binding(approval))
    assert checked == approval  # check does not consume
    used = await env.store.consume(**binding(approval), used_by_execution_id="exec-1")

    assert used.status is ApprovalStatus.USED
    assert used.used_by_execution_id == "exec-1"
    assert used.used_at == T0 + timedelta(minutes=10)
    assert await env.store.get("acme", approval.approval_id) == used
    with pytest.raises(ApprovalUsed, match="exec-1"):
        await env.store.consume(**binding(approval), used_by_execution_id="exec-2")
    with pytest.raises(ApprovalUsed):
        await env.store.check(**binding(approval))
    assert (await env.store.get("acme", approval.approval_id)).used_by_execution_id == "exec-1"


async def test_concurrent_consumers_exactly_one_wins(env: Env) -> None:
    approval = await granted(env)

    results = await asyncio.gather(
        *(
            env.store.consume(**binding(approval), used_by_execution_id=f"exec-{i}")
            for i in range(10)
        ),
        return_exceptions=True,
    )

    winners = [r for r in results if isinstance(r, Approval)]
    assert len(winners) == 1
    assert all(isinstance(r, ApprovalUsed) for r in results if r not in winners)
    stored = await env.store.get("acme", approval.approval_id)
    assert stored.status is ApprovalStatus.USED
    assert stored.used_by_execution_id == winners[0].used_by_execution_id


async def test_concurrent_consumers_on_two_connections_exactly_one_wins(env: Env) -> None:
    approval = await granted(env)
    second = await Database.open(env.path)
    try:
        other = ApprovalStore(second, ApprovalClocks(), env.clock)
        results = await asyncio.gather(
            *(
                store.consume(**binding(approval), used_by_execution_id=f"exec-{i}")
                for i, store in enumerate([env.store, other] * 5)
            ),
            return_exceptions=True,
        )
    finally:
        await second.close()

    assert sum(isinstance(r, Approval) for r in results) == 1
    assert sum(isinstance(r, ApprovalUsed) for r in results) == 9


@pytest.mark.parametrize(
    ("change", "part", "said"),
    [
        ({"connector_key": "email"}, "connector_key", "another connector"),
        ({"operation": "charge"}, "operation", "another operation"),
        ({"payload_digest": OTHER_DIGEST}, "payload_digest", "another payload"),
        ({"execution_id": "exec-9"}, "execution_id", "another execution"),
    ],
)
async def test_a_different_action_is_a_mismatch(
    env: Env, change: dict[str, str], part: str, said: str
) -> None:
    approval = await granted(env)

    for attempt in (
        env.store.check(**binding(approval, **change)),
        env.store.consume(**binding(approval, **change), used_by_execution_id="exec-1"),
    ):
        with pytest.raises(ApprovalMismatch) as refused:
            await attempt
        assert said in refused.value.message
        assert refused.value.metadata["mismatch"] == part
        for secret in (DIGEST, OTHER_DIGEST, "مرحبا", "125.5"):
            assert secret not in refused.value.message
    assert await env.store.get("acme", approval.approval_id) == approval


async def test_a_mismatch_names_every_differing_part(env: Env) -> None:
    approval = await granted(env)

    with pytest.raises(ApprovalMismatch) as refused:
        await env.store.check(**binding(approval, operation="charge", payload_digest=OTHER_DIGEST))

    assert refused.value.metadata["mismatch"] == "operation,payload_digest"


async def test_a_compensation_approval_is_bound_to_its_execution(env: Env) -> None:
    approval = await granted(env, execution_id="exec-7")

    with pytest.raises(ApprovalMismatch):
        await env.store.check(**binding(approval, execution_id=""))
    assert (await env.store.check(**binding(approval))).execution_id == "exec-7"


async def test_a_pending_approval_cannot_be_used(env: Env) -> None:
    approval, _ = await env.store.request(**action())

    with pytest.raises(ApprovalPending):
        await env.store.check(**binding(approval))
    with pytest.raises(ApprovalPending):
        await env.store.consume(**binding(approval), used_by_execution_id="exec-1")
    assert (await env.store.get("acme", approval.approval_id)).status is ApprovalStatus.PENDING


async def test_a_denied_approval_says_why(env: Env) -> None:
    approval, _ = await env.store.request(**action())
    await env.store.deny(
        tenant="acme",
        approval_id=approval.approval_id,
        approver=OPERATOR,
        reason="refunds over 100 need finance",
    )

    with pytest.raises(ApprovalDenied, match="refunds over 100 need finance"):
        await env.store.check(**binding(approval))
    with pytest.raises(ApprovalDenied, match="refunds over 100 need finance"):
        await env.store.consume(**binding(approval), used_by_execution_id="exec-1")


async def test_a_granted_approval_past_use_by_is_expired(env: Env) -> None:
    approval = await granted(env)
    assert approval.use_by == T0 + timedelta(hours=1)
    env.clock.advance(minutes=59, seconds=59)
    await env.store.check(**binding(approval))  # still usable just before use_by
    env.clock.advance(seconds=1)

    with pytest.raises(ApprovalExpired, match="not used in time"):
        await env.store.consume(**binding(approval), used_by_execution_id="exec-1")

    stored = await env.store.get("acme", approval.approval_id)
    assert stored.status is ApprovalStatus.EXPIRED
    assert stored.resolved_at == approval.use_by  # the moment it lapsed
    assert stored.resolved_by == OPERATOR
    assert stored.decided_at == T0  # the human decision is kept
    assert stored.used_by_execution_id == ""
    with pytest.raises(ApprovalExpired):
        await env.store.check(**binding(approval))
    # Noticed by consume, it is still reported by the sweep, until recorded.
    [reported] = await env.store.expire_due()
    assert reported.approval_id == approval.approval_id
    await env.store.expiry_recorded([approval.approval_id])
    assert await env.store.expire_due() == []


async def test_a_pending_request_past_24_hours_is_expired(env: Env) -> None:
    checked, _ = await env.store.request(**action())
    swept, _ = await env.store.request(**action(payload=OTHER_PAYLOAD))
    env.clock.advance(hours=24, minutes=5)

    with pytest.raises(ApprovalExpired, match="before anyone answered"):
        await env.store.check(**binding(checked))
    assert (await env.store.get("acme", checked.approval_id)).status is ApprovalStatus.EXPIRED

    expired = await env.store.expire_due()
    # Both are reported: the one check noticed, and the one the sweep found.
    assert {a.approval_id for a in expired} == {checked.approval_id, swept.approval_id}
    [found] = [a for a in expired if a.approval_id == swept.approval_id]
    assert found.status is ApprovalStatus.EXPIRED
    assert found.resolved_at == swept.expires_at == T0 + timedelta(hours=24)
    assert await env.store.get("acme", swept.approval_id) == found
    with pytest.raises(ApprovalExpired):
        await env.store.check(**binding(swept))


async def test_expire_due_marks_only_what_lapsed_as_of_its_deadline(env: Env) -> None:
    pending_late, _ = await env.store.request(**action(payload=numbered(1)))
    env.clock.advance(hours=2)
    granted_late = await granted(env, payload=numbered(2))  # use_by T0+3h
    env.clock.advance(hours=21)
    granted_fresh = await granted(env, payload=numbered(3))  # use_by T0+24h
    pending_fresh, _ = await env.store.request(**action(payload=numbered(4)))
    used = await granted(env, payload=numbered(5))
    await env.store.consume(**binding(used), used_by_execution_id="exec-5")
    env.clock.advance(hours=1)  # now T0+24h: exactly at pending_late's expires_at

    expired = await env.store.expire_due()

    assert [(a.approval_id, a.resolved_at) for a in expired] == [
        (granted_late.approval_id, T0 + timedelta(hours=3)),
        (pending_late.approval_id, T0 + timedelta(hours=24)),
        (granted_fresh.approval_id, T0 + timedelta(hours=24)),
    ]
    assert all(a.status is ApprovalStatus.EXPIRED for a in expired)
    for approval in expired:
        assert await env.store.get("acme", approval.approval_id) == approval
    assert (await env.store.get("acme", pending_fresh.approval_id)).status is (
        ApprovalStatus.PENDING
    )
    assert (await env.store.get("acme", used.approval_id)).status is ApprovalStatus.USED
    assert len(await env.store.expire_due()) == 3  # reported until recorded
    await env.store.expiry_recorded([a.approval_id for a in expired])
    assert await env.store.expire_due() == []


# --- listing and durability ------------------------------------------------------------------


async def test_list_is_newest_first_and_filters_by_status(env: Env) -> None:
    made = []
    for i in range(5):
        approval, _ = await env.store.request(**action(payload=numbered(i)))
        made.append(approval)
        env.clock.advance(minutes=1)
    await env.store.grant(
        tenant="acme", approval_id=made[1].approval_id, approver=OPERATOR, note=""
    )
    await env.store.grant(
        tenant="acme", approval_id=made[3].approval_id, approver=OPERATOR, note=""
    )

    listed = await env.store.list("acme", None, 100)
    assert [a.approval_id for a in listed] == [a.approval_id for a in reversed(made)]
    assert [a.approval_id for a in await env.store.list("acme", None, 2)] == [
        made[4].approval_id,
        made[3].approval_id,
    ]
    assert [a.approval_id for a in await env.store.list("acme", ApprovalStatus.GRANTED, 10)] == [
        made[3].approval_id,
        made[1].approval_id,
    ]
    assert await env.store.list("acme", ApprovalStatus.USED, 10) == []
    with pytest.raises(ValueError, match="limit"):
        await env.store.list("acme", None, 0)


async def test_pages_continue_after_the_last_row_without_gaps_or_repeats(env: Env) -> None:
    for i in range(7):
        await env.store.request(**action(payload=numbered(i)))
        if i % 3 == 2:  # some requests share an instant: the id orders them
            env.clock.advance(minutes=1)
    everything = await env.store.list("acme", None, 100)

    pages: list[list[str]] = []
    after = None
    while True:
        rows = await env.store.list("acme", None, 3, after=after)
        if not rows:
            break
        pages.append([a.approval_id for a in rows])
        after = env.store.cursor(rows[-1])
        if len(pages) == 1:  # a request made meanwhile is newer: it shifts nothing
            env.clock.advance(minutes=1)
            await env.store.request(**action(payload=numbered(99)))

    assert [len(p) for p in pages] == [3, 3, 1]
    assert [i for p in pages for i in p] == [a.approval_id for a in everything]
    assert [(a.requested_at, a.approval_id) for a in everything] == sorted(
        ((a.requested_at, a.approval_id) for a in everything), reverse=True
    )


async def test_decisions_are_committed(env: Env) -> None:
    approval = await granted(env)

    reopened = await Database.open(env.path)
    try:
        seen = await ApprovalStore(reopened, ApprovalClocks(), env.clock).get(
            "acme", approval.approval_id
        )
    finally:
        await reopened.close()

    assert seen == approval
    assert seen.payload_redacted == REDACTED
    assert seen.payload == PAYLOAD


def test_clocks_must_be_sensible() -> None:
    with pytest.raises(ValueError, match="positive"):
        ApprovalClocks(use_within_s=0)
    with pytest.raises(ValueError, match="sla_warning_s"):
        ApprovalClocks(sla_warning_s=25 * 3600)
