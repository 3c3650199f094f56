"""Authorization: whether this caller may make this call at all.

Operators only for the approval queue and the execution ledger; for actions, the
authorization policy must allow the caller the connector's operation. This runs before the
replay look-up: a caller that may not make a call never learns what a key holds.
"""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.auth.policy import AuthorizationPolicy
from gateway.interceptors.base import Call, Context, Next

OPERATOR_METHODS = (
    "ListApprovals",
    "ApproveApproval",
    "DenyApproval",
    "ListExecutions",
    "ResolveExecution",
)


class AuthorizationLayer:
    name = "authorization"

    def __init__(self, authorization: AuthorizationPolicy) -> None:
        self._authorization = authorization

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        assert call.identity is not None
        if call.method in OPERATOR_METHODS:
            self._authorization.check_operator(call.identity)
        if call.method in ("Execute", "Compensate") and call.target is not None:
            target = call.target
            self._authorization.check_call(
                call.identity, target.metadata.key, target.operation.name
            )
        return await call_next(call)
