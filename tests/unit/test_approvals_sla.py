"""The approval SLA over a fixture with known times: escalation levels, board states and the
compliance fraction."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from gateway.approvals import (
    Approval,
    ApprovalClocks,
    ApprovalStatus,
    due_time,
    escalation_level,
    sla_compliance,
    sla_state,
)

CLOCKS = ApprovalClocks()  # warning 4 h, breach 24 h, pending 24 h, use within 1 h
PERIOD_START = datetime(2025, 3, 1, tzinfo=UTC)
PERIOD_END = PERIOD_START + timedelta(days=7)
NOW = PERIOD_START + timedelta(days=5)
R = PERIOD_START + timedelta(days=1)  # when most fixture approvals were requested
H = timedelta(hours=1)


def make(
    name: str,
    requested_at: datetime,
    status: ApprovalStatus,
    decided_at: datetime | None = None,
    *,
    resolved_at: datetime | None = None,
) -> Approval:
    decided = decided_at is not None
    use_by = decided_at + CLOCKS.use_within if decided_at is not None else None
    return Approval(
        approval_id=f"apr_{name}",
        tenant="acme",
        connector_key="billing",
        operation="refund",
        payload_digest="ab" * 32,
        payload={},
        payload_redacted={},
        execution_id="",
        status=status,
        requested_by="agent",
        requested_at=requested_at,
        resolved_by="alice" if decided else "",
        resolved_at=resolved_at or decided_at,
        decided_at=decided_at,
        reason="",
        expires_at=requested_at + CLOCKS.pending_ttl,
        use_by=use_by if status is not ApprovalStatus.DENIED else None,
        used_by_execution_id="exec" if status is ApprovalStatus.USED else "",
        used_at=decided_at + H / 2 if status is ApprovalStatus.USED and decided_at else None,
    )


# name -> (approval, escalation level, board state, counted in the period, within SLA)
FIXTURE: dict[str, tuple[Approval, int, str, bool, bool]] = {
    "granted_1h_used": (
        make("granted_1h_used", R, ApprovalStatus.USED, R + 1 * H),
        0, "ok", True, True,
    ),
    "granted_5h": (
        make("granted_5h", R, ApprovalStatus.GRANTED, R + 5 * H),
        1, "warning", True, True,
    ),
    "granted_30h_late": (
        make("granted_30h_late", R, ApprovalStatus.GRANTED, R + 30 * H),
        2, "breached", True, False,
    ),
    "denied_3h": (
        make("denied_3h", R, ApprovalStatus.DENIED, R + 3 * H),
        0, "ok", True, True,
    ),
    "expired_unanswered": (
        make("expired_unanswered", R, ApprovalStatus.EXPIRED, resolved_at=R + 24 * H),
        2, "breached", True, False,
    ),
    "granted_2h_expired_unused": (
        make(
            "granted_2h_expired_unused", R, ApprovalStatus.EXPIRED, R + 2 * H,
            resolved_at=R + 3 * H,
        ),
        0, "ok", True, True,
    ),
    "pending_2h": (
        make("pending_2h", NOW - 2 * H, ApprovalStatus.PENDING),
        0, "ok", False, False,
    ),
    "pending_6h": (
        make("pending_6h", NOW - 6 * H, ApprovalStatus.PENDING),
        1, "warning", False, False,
    ),
    "pending_30h": (
        make("pending_30h", NOW - 30 * H, ApprovalStatus.PENDING),
        2, "breached", True, False,
    ),
    "before_the_period": (
        make("before_the_period", PERIOD_START - 3 * 24 * H, ApprovalStatus.USED,
             PERIOD_START - 3 * 24 * H + H),
        0, "ok", False, True,
    ),
}  # fmt: skip

APPROVALS = [entry[0] for entry in FIXTURE.values()]


@pytest.mark.parametrize("name", list(FIXTURE))
def test_escalation_level_and_board_state(name: str) -> None:
    approval, level, state, _, _ = FIXTURE[name]

    assert escalation_level(approval, NOW, CLOCKS) == level
    assert sla_state(approval, NOW, CLOCKS) == state


def test_compliance_over_the_fixture() -> None:
    counted = {name for name, entry in FIXTURE.items() if entry[3]}
    met = {name for name in counted if FIXTURE[name][4]}
    assert counted == {
        "granted_1h_used",
        "granted_5h",
        "granted_30h_late",
        "denied_3h",
        "expired_unanswered",
        "granted_2h_expired_unused",
        "pending_30h",
    }
    assert met == {"granted_1h_used", "granted_5h", "denied_3h", "granted_2h_expired_unused"}

    compliance = sla_compliance(
        APPROVALS, period_start=PERIOD_START, period_end=PERIOD_END, now=NOW, clocks=CLOCKS
    )

    assert compliance == pytest.approx(4 / 7)


def test_each_approval_is_counted_where_its_due_time_falls() -> None:
    for name, (approval, _, _, counted, met) in FIXTURE.items():
        alone = sla_compliance(
            [approval], period_start=PERIOD_START, period_end=PERIOD_END, now=NOW, clocks=CLOCKS
        )
        assert alone == ((1.0 if met else 0.0) if counted else None), name


def test_late_answers_and_expiries_fall_due_at_the_breach_time() -> None:
    late = FIXTURE["granted_30h_late"][0]
    unanswered = FIXTURE["expired_unanswered"][0]
    assert due_time(late, CLOCKS) == due_time(unanswered, CLOCKS) == R + 24 * H
    assert due_time(FIXTURE["granted_5h"][0], CLOCKS) == R + 5 * H

    # The hour from the breach time holds exactly the two breaches.
    assert (
        sla_compliance(
            APPROVALS, period_start=R + 24 * H, period_end=R + 25 * H, now=NOW, clocks=CLOCKS
        )
        == 0.0
    )
    # The period is half-open: nothing is due in [R + 5 h + 1 µs, R + 24 h).
    assert (
        sla_compliance(
            APPROVALS,
            period_start=R + 5 * H + timedelta(microseconds=1),
            period_end=R + 24 * H,
            now=NOW,
            clocks=CLOCKS,
        )
        is None
    )


def test_only_what_fell_due_by_now_counts() -> None:
    # Looking back from R + 6 h: the 1 h, 2 h, 3 h and 5 h answers are due; the rest not yet.
    then = R + 6 * H
    assert (
        sla_compliance(
            APPROVALS, period_start=PERIOD_START, period_end=PERIOD_END, now=then, clocks=CLOCKS
        )
        == 1.0
    )
    # The request still pending at 2 h falls due, as a breach, 24 h after it was asked for.
    pending = FIXTURE["pending_2h"][0]
    later = NOW + 22 * H
    assert (
        sla_compliance(
            [pending], period_start=PERIOD_START, period_end=PERIOD_END, now=later, clocks=CLOCKS
        )
        == 0.0
    )
    assert escalation_level(pending, later, CLOCKS) == 2


def test_nothing_due_is_none() -> None:
    assert (
        sla_compliance([], period_start=PERIOD_START, period_end=PERIOD_END, now=NOW, clocks=CLOCKS)
        is None
    )
    assert (
        sla_compliance(
            APPROVALS,
            period_start=PERIOD_END,
            period_end=PERIOD_END + timedelta(days=7),
            now=NOW,
            clocks=CLOCKS,
        )
        is None
    )


def test_a_pending_request_escalates_at_the_warning_and_breach_times() -> None:
    pending = make("p", R, ApprovalStatus.PENDING)
    tick = timedelta(microseconds=1)

    assert escalation_level(pending, R, CLOCKS) == 0
    assert escalation_level(pending, R + 4 * H - tick, CLOCKS) == 0
    assert escalation_level(pending, R + 4 * H, CLOCKS) == 1
    assert escalation_level(pending, R + 24 * H - tick, CLOCKS) == 1
    assert escalation_level(pending, R + 24 * H, CLOCKS) == 2
    assert sla_state(pending, R + 24 * H, CLOCKS) == "breached"


def test_an_answer_exactly_at_the_breach_time_is_late() -> None:
    on_the_dot = make("d", R, ApprovalStatus.GRANTED, R + 24 * H)

    assert escalation_level(on_the_dot, NOW, CLOCKS) == 2
    assert (
        sla_compliance(
            [on_the_dot], period_start=PERIOD_START, period_end=PERIOD_END, now=NOW, clocks=CLOCKS
        )
        == 0.0
    )


def test_a_resolved_approval_keeps_the_level_it_reached() -> None:
    answered = FIXTURE["granted_5h"][0]
    # Long after, it still shows the level it had when a person answered it.
    assert escalation_level(answered, NOW + timedelta(days=30), CLOCKS) == 1
    # Looking back to before the answer, it was pending then.
    assert escalation_level(answered, R + 1 * H, CLOCKS) == 0
