"""The approval SLA: how quickly people answer approval requests.

Pure functions over :class:`Approval` values and an explicit ``now``. The SLA measures the
human response only: what happens to a granted approval afterwards (used, or expired unused)
does not change whether it was answered in time. "A person answered" means the approval has a
``decided_at`` (it was granted or denied); an approval that expired unanswered never has one.

For an approval requested at ``r``:

* its warning time is ``r + sla_warning_s`` and its breach time ``r + sla_breach_s``;
* it was answered within the SLA when a person granted or denied it strictly before its
  breach time;
* it falls due at ``decided_at`` when it was answered within the SLA, and otherwise at its
  breach time, i.e. at ``min(decided_at, breach time)``. That covers a request still pending
  past its breach time, one that expired unanswered, and one answered late: all are breaches
  due at the breach time, so a late answer never moves a breach into a later period.
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime
from typing import Literal

from gateway.approvals.model import Approval, ApprovalClocks, ApprovalStatus

SlaState = Literal["ok", "warning", "breached"]

_STATES: tuple[SlaState, SlaState, SlaState] = ("ok", "warning", "breached")


def breach_time(approval: Approval, clocks: ApprovalClocks) -> datetime:
    return approval.requested_at + clocks.sla_breach


def answered_in_time(approval: Approval, clocks: ApprovalClocks) -> bool:
    """Whether a person granted or denied it strictly before its breach time."""
    return approval.decided_at is not None and approval.decided_at < breach_time(approval, clocks)


def due_time(approval: Approval, clocks: ApprovalClocks) -> datetime:
    """When it falls due for the SLA: ``decided_at`` if answered in time, else its breach time.

    The result can lie after ``now`` (a request still pending before its breach time is not
    due yet); :func:`sla_compliance` counts only approvals due at or before ``now``."""
    decided, breach = approval.decided_at, breach_time(approval, clocks)
    return decided if decided is not None and decided < breach else breach


def escalation_level(approval: Approval, now: datetime, clocks: ApprovalClocks) -> int:
    """0 within the SLA, 1 from the warning time, 2 from the breach time.

    A pending request is measured at ``now``. One a person granted or denied keeps the level
    it had reached at ``decided_at`` (also after it was used or expired unused). One that
    expired unanswered is 2. A ``decided_at`` after ``now`` (looking at the past) counts as
    not answered yet."""
    if approval.decided_at is not None and approval.decided_at <= now:
        moment = approval.decided_at
    elif approval.status is ApprovalStatus.EXPIRED and approval.decided_at is None:
        return 2
    else:
        moment = now
    if moment >= breach_time(approval, clocks):
        return 2
    if moment >= approval.requested_at + clocks.sla_warning:
        return 1
    return 0


def sla_state(approval: Approval, now: datetime, clocks: ApprovalClocks) -> SlaState:
    """For the board: "ok", "warning" or "breached" from :func:`escalation_level`."""
    return _STATES[escalation_level(approval, now, clocks)]


def sla_compliance(
    approvals: Iterable[Approval],
    *,
    period_start: datetime,
    period_end: datetime,
    now: datetime,
    clocks: ApprovalClocks,
) -> float | None:
    """Approvals answered within the SLA / all approvals due in the period.

    An approval is due at its :func:`due_time`: when a person granted or denied it, if that
    was strictly before ``requested_at + sla_breach_s``; otherwise (still pending then,
    expired unanswered, or answered late) at ``requested_at + sla_breach_s``, as a breach.
    It counts when its due time lies in ``[period_start, period_end)`` and is ``<= now``.
    A granted approval that later expired unused counts as answered in time if it was granted
    in time. Returns None when nothing fell due in the period.
    """
    due = met = 0
    for approval in approvals:
        moment = due_time(approval, clocks)
        if period_start <= moment < period_end and moment <= now:
            due += 1
            if answered_in_time(approval, clocks):
                met += 1
    return met / due if due else None
