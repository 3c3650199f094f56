"""Authentication: who is calling and for which tenant.

A bearer token (JWT) or a verified client certificate names the caller; the authorization
policy gives its tenant. The tenant always comes from the identity, never from the request.
A refusal here is still audited: the audit layer sits outside this one.
"""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.auth.authenticator import Authenticator
from gateway.call import Call, Context
from gateway.interceptors.base import Next


class AuthenticationLayer:
    name = "authentication"

    def __init__(self, authenticator: Authenticator) -> None:
        self._authenticator = authenticator

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        identity = self._authenticator.identify(call.credentials, ctx.auth_context())
        call.facts.tenant = identity.tenant
        call.facts.caller = identity.caller
        return await call_next(call.with_(identity=identity))
