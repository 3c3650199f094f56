"""Authorization: whether this caller may make this call at all.

Operators only for the approval queue and the execution ledger; for actions, the
authorization policy must allow the caller the connector's operation. This runs before the
replay look-up: a caller that may not make a call never learns what a key holds.
"""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.auth.policy import AuthorizationPolicy
from gateway.call import Call, Context
from gateway.interceptors.base import Next


class AuthorizationLayer:
    name = "authorization"

    def __init__(self, authorization: AuthorizationPolicy) -> None:
        self._authorization = authorization

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        identity = call.who()
        if call.rule.operator_only:
            self._authorization.check_operator(identity)
        if call.rule.acts:
            target = call.what()
            self._authorization.check_call(identity, target.metadata.key, target.operation.name)
        return await call_next(call)
