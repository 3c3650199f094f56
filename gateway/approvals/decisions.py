"""An operator's decision on an approval request, whichever protocol it arrives over."""

from __future__ import annotations

from collections.abc import Callable

from gateway.approvals.model import Approval
from gateway.approvals.store import ApprovalStore


async def decide(
    store: ApprovalStore,
    *,
    tenant: str,
    approval_id: str,
    approver: str,
    grant: bool,
    text: str,
    found: Callable[[Approval], None],
) -> Approval:
    """An operator grants (``text``: a note) or denies (``text``: the reason) an approval.
    ``found`` sees the approval before the decision, so that a refused decision is audited
    with what it was about."""
    found(await store.get(tenant, approval_id))
    if grant:
        return await store.grant(
            tenant=tenant, approval_id=approval_id, approver=approver, note=text
        )
    return await store.deny(tenant=tenant, approval_id=approval_id, approver=approver, reason=text)
