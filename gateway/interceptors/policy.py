"""Policy: the policy class of the action, and the approval class B needs.

Class A runs; class C never runs; class B runs only with a granted approval bound to this
exact tenant, connector, operation and payload (for a compensation: the execution it undoes),
which the same caller asked for. Without one, the call creates (or finds) the caller's pending
approval request and is refused with APPROVAL_REQUIRED naming it. The approval is checked
here and consumed by the servicer once it has reserved the new execution. A repeat of an
action admitted earlier (see the replay layer) is not asked to approve it again.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from gateway.approvals.store import ApprovalStore
from gateway.contract import PolicyClass
from gateway.errors import ApprovalRequired, PolicyForbidden
from gateway.interceptors.base import Call, Context, Next
from gateway.registry import Registry

POLICY_DENIED = "policy_denied"
APPROVAL_REQUESTED = "approval_requested"
APPROVAL_REFUSED = "approval_refused"


def binding(call: Call) -> dict[str, str]:
    """The exact action an approval of this call is bound to."""
    assert call.identity is not None
    assert call.target is not None
    return {
        "tenant": call.identity.tenant,
        "connector_key": call.target.metadata.key,
        "operation": call.target.operation.name,
        "payload_digest": call.facts.payload_digest,
        "execution_id": call.facts.execution_id if call.method == "Compensate" else "",
    }


async def require_approval(approvals: ApprovalStore, call: Call, where: dict[str, Any]) -> None:
    """Opens (or finds) the caller's pending request for this action and refuses the call
    with APPROVAL_REQUIRED naming it."""
    assert call.identity is not None
    assert call.target is not None
    key, operation = call.target.metadata.key, call.target.operation.name
    approval, _ = await approvals.request(
        **binding(call),
        payload=approval_payload(call),
        payload_redacted=call.facts.payload_redacted,
        requested_by=call.identity.caller,
    )
    call.facts.refusal_event = APPROVAL_REQUESTED
    call.facts.approval_id = approval.approval_id
    raise ApprovalRequired(
        f"{key}.{operation} needs a person's approval of this exact payload "
        f"(policy class B). Approval {approval.approval_id} is pending: watch it with "
        "ApprovalService.WatchApproval and re-send this request with approval_id set "
        "once it is granted",
        metadata={**where, "approval_id": approval.approval_id},
    )


def approval_payload(call: Call) -> dict[str, Any]:
    """What an approval of this call is given for, in full for the operator who decides: the
    value the validation layer took the payload digest of."""
    assert call.target is not None
    if call.method == "Compensate":
        return {"execution_id": call.facts.execution_id, "operation": call.target.operation.name}
    return call.target.payload.model_dump(mode="json", exclude_defaults=True)


class PolicyLayer:
    name = "policy"

    def __init__(self, registry: Registry, approvals: ApprovalStore) -> None:
        self._registry = registry
        self._approvals = approvals

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if call.method not in ("Execute", "Compensate") or call.target is None:
            return await call_next(call)
        assert call.identity is not None
        key, operation = call.target.metadata.key, call.target.operation
        policy = self._registry.policy_class(key, operation)
        where = {"connector_key": key, "operation": operation.name, "policy_class": policy.value}
        if policy is PolicyClass.C:
            call.facts.refusal_event = POLICY_DENIED
            raise PolicyForbidden(
                f"{key}.{operation.name} is forbidden in this deployment (policy class C); "
                "it cannot run through the gateway",
                metadata=where,
            )
        if policy is PolicyClass.A:
            return await call_next(call)
        caller = call.identity.caller
        call = call.with_(needs_approval=True)
        if call.repeat:  # admitted (and approved) when it first ran
            return await call_next(call)
        approval_id = call.request.approval_id
        if not approval_id:
            await require_approval(self._approvals, call, where)
        facts = call.facts
        facts.approval_id = approval_id
        facts.refusal_event = APPROVAL_REFUSED
        await self._approvals.check(approval_id=approval_id, caller=caller, **binding(call))
        facts.refusal_event = ""
        return await call_next(call.with_(approval_id=approval_id))
