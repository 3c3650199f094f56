"""Who sends an HTTP request: the same identities as on gRPC, with one rule for browsers.

A request from a browser context (it carries ``Origin``, a ``Sec-Fetch-*`` header or a
``Cookie``: browsers add them, scripts do not) never acts as the development caller, implicit
or named by the development caller header, since any web page can make a browser send
requests to loopback. It authenticates with a bearer token, or in development mode with the
session cookie of ``gateway.http.login``.
"""

from __future__ import annotations

from aiohttp import hdrs, web

from gateway.auth.authenticator import AUTHORIZATION, DEV_CALLER_HEADER, Authenticator
from gateway.errors import CredentialsMissing
from gateway.http.login import SESSION_COOKIE, SignIn
from gateway.identity import Identity


def from_browser(request: web.Request) -> bool:
    return any(
        name in ("origin", "cookie") or name.startswith("sec-fetch-")
        for name in (key.lower() for key in request.headers)
    )


class HttpCallers:
    def __init__(self, authenticator: Authenticator, sign_in: SignIn | None) -> None:
        self._authenticator = authenticator
        self._sign_in = sign_in  # development mode only

    def identify(self, request: web.Request) -> Identity:
        """The caller's identity; raises Unauthenticated or CallerNotAllowed."""
        authorization = request.headers.getall(hdrs.AUTHORIZATION, [])
        if authorization:
            return self._authenticator.authenticate(
                [(AUTHORIZATION, value) for value in authorization], {}
            )
        browser = from_browser(request)
        if self._sign_in is not None:
            cookie = request.cookies.get(SESSION_COOKIE) if browser else None
            if cookie is not None:
                return self.session_identity(self._sign_in.session_caller(cookie))
            if browser:
                raise CredentialsMissing(
                    "a browser must sign in: open the login link the gateway logged at "
                    "start-up (`connector-gateway login-url` prints it), or send a bearer token"
                )
        named = [] if browser else request.headers.getall(DEV_CALLER_HEADER, [])
        return self._authenticator.authenticate([(DEV_CALLER_HEADER, v) for v in named], {})

    def session_identity(self, caller: str) -> Identity:
        """The identity of a signed-in browser (development mode)."""
        return self._authenticator.policy.identity_for(caller, None)
