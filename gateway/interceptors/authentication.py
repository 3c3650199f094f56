"""Authentication: who is calling and for which tenant.

Until credentials are configured the gateway runs every call as the local development caller
of tenant ``default``; the tenant always comes from the identity, never from the request.
"""

from __future__ import annotations

from google.protobuf.message import Message

from gateway.identity import LOCAL_IDENTITY, Identity
from gateway.interceptors.base import Call, Context, Next


class AuthenticationLayer:
    name = "authentication"

    def __init__(self, identity: Identity = LOCAL_IDENTITY) -> None:
        self._identity = identity

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        identity = self._identity
        call.facts.tenant = identity.tenant
        call.facts.caller = identity.caller
        return await call_next(call.with_(identity=identity))
