"""Policy: class A runs, class C never runs, class B needs a human approval."""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.contract import PolicyClass
from gateway.errors import ApprovalRequired, PolicyForbidden
from gateway.interceptors.base import Call, Context, Next
from gateway.registry import Registry

POLICY_DENIED = "policy_denied"
APPROVAL_REQUIRED = "approval_required"


class PolicyLayer:
    name = "policy"

    def __init__(self, registry: Registry) -> None:
        self._registry = registry

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        if call.method not in ("Execute", "Compensate") or call.target is None:
            return await call_next(call)
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
        if policy is PolicyClass.B:
            call.facts.refusal_event = APPROVAL_REQUIRED
            approval_id = getattr(call.request, "approval_id", "")
            raise ApprovalRequired(
                f"{key}.{operation.name} needs a human approval of this exact payload "
                "(policy class B), and this gateway has no approval workflow enabled: ask an "
                "operator to allow the operation",
                metadata={**where, "approval_id": approval_id} if approval_id else where,
            )
        return await call_next(call)
