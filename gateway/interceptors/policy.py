"""Policy: the policy class of the action, and the approval class B needs.

Class A runs; class C never runs; class B runs only with a granted approval bound to this
exact tenant, connector, operation and payload (for a compensation: the execution it undoes),
which the same caller asked for. Without one, the call creates (or finds) the caller's pending
approval request and is refused with APPROVAL_REQUIRED naming it. The approval is checked
here and used by the servicer once it has reserved the new execution. A repeat of an action
admitted earlier (see the replay layer) is not asked to approve it again.
"""

from __future__ import annotations

from typing import Any

from google.protobuf.message import Message

from gateway.approvals.gate import ApprovalGate
from gateway.approvals.subject import ApprovalSubject
from gateway.call import Call, Context
from gateway.contract import PolicyClass
from gateway.errors import PolicyForbidden
from gateway.interceptors.base import Next
from gateway.registry import Registry

POLICY_DENIED = "policy_denied"
APPROVAL_REFUSED = "approval_refused"


def subject_of(call: Call) -> ApprovalSubject:
    """The exact action an approval of this call is bound to."""
    identity, target = call.who(), call.what()
    facts = call.facts

    def full_payload() -> dict[str, Any]:
        # The value the validation layer took the payload digest of.
        if call.rule.compensates:
            return {"execution_id": facts.execution_id, "operation": target.operation.name}
        return target.payload.model_dump(mode="json", exclude_defaults=True)

    return ApprovalSubject(
        tenant=identity.tenant,
        caller=identity.caller,
        connector_key=target.metadata.key,
        operation=target.operation.name,
        payload_digest=facts.payload_digest,
        execution_id=facts.execution_id if call.rule.compensates else "",
        payload_redacted=facts.payload_redacted,
        full_payload=full_payload,
    )


class PolicyLayer:
    name = "policy"

    def __init__(self, registry: Registry, gate: ApprovalGate) -> None:
        self._registry = registry
        self._gate = gate

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if not call.rule.acts:
            return await call_next(call)
        target = call.what()
        key, operation = target.metadata.key, target.operation
        policy = self._registry.policy_class(key, operation)
        where = {"connector_key": key, "operation": operation.name, "policy_class": policy.value}
        if policy is PolicyClass.C:
            call.facts.refusal_event = POLICY_DENIED
            raise PolicyForbidden(
                f"{key}.{operation.name} is forbidden in this deployment (policy class C); "
                "it cannot run through the gateway",
                metadata=where,
            )
        subject = subject_of(call)
        call = call.with_(approval_subject=subject)
        if policy is PolicyClass.A:
            return await call_next(call)
        call = call.with_(needs_approval=True)
        if call.repeat:  # admitted (and approved) when it first ran
            return await call_next(call)
        approval_id = call.request.approval_id
        if not approval_id:
            await self._gate.require(subject, call.facts, where)
        facts = call.facts
        facts.approval_id = approval_id
        facts.refusal_event = APPROVAL_REFUSED
        await self._gate.check(approval_id, subject)
        facts.refusal_event = ""
        return await call_next(call.with_(approval_id=approval_id))
