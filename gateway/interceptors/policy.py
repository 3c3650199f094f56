"""Policy: who may call what, and the policy class of the action.

Class A runs; class C never runs; class B runs only with a granted approval bound to this
exact tenant, connector, operation and payload (for a compensation: the execution it undoes),
which the same caller asked for. Without one, the call creates (or finds) the caller's pending
approval request and is refused with APPROVAL_REQUIRED naming it. The approval is checked
here and consumed by the servicer only after the idempotency look-up, so a network retry of
an approved call gets its stored answer.
"""

from __future__ import annotations

import contextlib
from typing import Any

from google.protobuf.message import Message

from gateway.approvals.store import ApprovalStore
from gateway.auth.policy import AuthorizationPolicy
from gateway.contract import PolicyClass
from gateway.errors import ApprovalRequired, ApprovalUsed, PolicyForbidden
from gateway.interceptors.base import Call, Context, Next
from gateway.registry import Registry

POLICY_DENIED = "policy_denied"
APPROVAL_REQUESTED = "approval_requested"
APPROVAL_REFUSED = "approval_refused"
OPERATOR_METHODS = (
    "ListApprovals",
    "ApproveApproval",
    "DenyApproval",
    "ListExecutions",
    "ResolveExecution",
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

    def __init__(
        self, registry: Registry, approvals: ApprovalStore, authorization: AuthorizationPolicy
    ) -> None:
        self._registry = registry
        self._approvals = approvals
        self._authorization = authorization

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        assert call.identity is not None
        if call.method in OPERATOR_METHODS:
            self._authorization.check_operator(call.identity)
        if call.method not in ("Execute", "Compensate") or call.target is None:
            return await call_next(call)
        key, operation = call.target.metadata.key, call.target.operation
        self._authorization.check_call(call.identity, key, operation.name)
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
        facts = call.facts
        binding = {
            "tenant": call.identity.tenant,
            "connector_key": key,
            "operation": operation.name,
            "payload_digest": facts.payload_digest,
            "execution_id": facts.execution_id if call.method == "Compensate" else "",
        }
        approval_id = call.request.approval_id
        if not approval_id:
            approval, _ = await self._approvals.request(
                **binding,
                payload=approval_payload(call),
                payload_redacted=facts.payload_redacted,
                requested_by=call.identity.caller,
            )
            facts.refusal_event = APPROVAL_REQUESTED
            facts.approval_id = approval.approval_id
            raise ApprovalRequired(
                f"{key}.{operation.name} needs a person's approval of this exact payload "
                f"(policy class B). Approval {approval.approval_id} is pending: watch it with "
                "ApprovalService.WatchApproval and re-send this request with approval_id set "
                "once it is granted",
                metadata={**where, "approval_id": approval.approval_id},
            )
        facts.approval_id = approval_id
        facts.refusal_event = APPROVAL_REFUSED
        # A used approval passes here: only a replay of the call that used it may succeed, and
        # the servicer, consuming after the idempotency look-up, refuses anything else.
        with contextlib.suppress(ApprovalUsed):
            await self._approvals.check(
                approval_id=approval_id, caller=call.identity.caller, **binding
            )
        facts.refusal_event = ""
        return await call_next(call.with_(approval_id=approval_id))
