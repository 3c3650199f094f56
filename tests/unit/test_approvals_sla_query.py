"""The SLA figure the store computes by aggregate queries agrees with the reference,
``gateway.approvals.sla.sla_compliance``, on generated histories of approvals."""

from __future__ import annotations

import asyncio
import tempfile
from datetime import timedelta
from pathlib import Path

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st

from gateway.approvals import ApprovalClocks, sla_compliance
from tests.support.approval_store import OPERATOR, T0, action, numbered, store_env

HOUR_US = 3600 * 1_000_000
DAY_US = 24 * HOUR_US
# Pending requests outlive the breach time, so late answers happen too.
CLOCKS = ApprovalClocks(pending_ttl_s=48 * 3600, sla_breach_s=24 * 3600)

# When a person answered, after the request; around the breach time to the microsecond.
_answer_after_us = st.one_of(
    st.integers(0, 2 * DAY_US - 1),
    st.sampled_from([DAY_US - 1, DAY_US, DAY_US + 1]),
)
_decision = st.one_of(st.none(), st.tuples(st.booleans(), _answer_after_us))
_history = st.lists(st.tuples(st.integers(0, 10 * DAY_US), _decision), max_size=20)
# (period start, period length, now), relative to the first possible request; the first one
# spans every history.
_windows = st.lists(
    st.tuples(
        st.integers(-2 * DAY_US, 8 * DAY_US),
        st.integers(0, 16 * DAY_US),
        st.integers(0, 16 * DAY_US),
    ),
    max_size=6,
).map(lambda windows: [(-DAY_US, 30 * DAY_US, 30 * DAY_US), *windows])

Decision = tuple[bool, int] | None


async def _agree(history: list[tuple[int, Decision]], windows: list[tuple[int, int, int]]) -> None:
    with tempfile.TemporaryDirectory() as directory:
        async with store_env(Path(directory) / "gateway.db", CLOCKS) as env:
            for i, (requested_us, decision) in enumerate(history):
                env.clock.now = T0 + timedelta(microseconds=requested_us)
                approval, _ = await env.store.request(
                    **action(payload=numbered(i), requested_by=f"agent-{i % 3}")
                )
                if decision is None:
                    continue
                grant, after_us = decision
                env.clock.now += timedelta(microseconds=after_us)
                decide = env.store.grant if grant else env.store.deny
                await decide(
                    tenant="acme",
                    approval_id=approval.approval_id,
                    approver=OPERATOR,
                    **{"note" if grant else "reason": "checked"},
                )
            env.clock.now = T0 + timedelta(days=20)
            await env.store.expire_due()  # unanswered and unused ones end expired
            stored = await env.store.list("acme", None, 1000)
            for start_us, length_us, now_us in windows:
                start = T0 + timedelta(microseconds=start_us)
                window = {
                    "period_start": start,
                    "period_end": start + timedelta(microseconds=length_us),
                    "now": T0 + timedelta(microseconds=now_us),
                }
                expected = sla_compliance(stored, clocks=CLOCKS, **window)
                assert await env.store.sla_compliance("acme", **window) == expected
                assert await env.store.sla_compliance("globex", **window) is None


@settings(
    max_examples=40,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow],
)
@given(history=_history, windows=_windows)
def test_the_aggregate_agrees_with_the_reference(
    history: list[tuple[int, Decision]], windows: list[tuple[int, int, int]]
) -> None:
    asyncio.run(_agree(history, windows))
