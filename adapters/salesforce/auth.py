"""The access token of one org, from the OAuth 2.0 JWT bearer flow.

``POST {login_url}/services/oauth2/token`` with ``grant_type=urn:ietf:params:oauth:grant-type:
jwt-bearer`` and an RS256 assertion (iss: consumer key, sub: username, aud: login URL, valid
for three minutes). The answer carries ``access_token`` and ``instance_url``, the host every
REST call goes to, and neither an expiry nor a refresh token: the token is kept until
Salesforce refuses it (401), then a new one is obtained, one request at a time for the whole
account (``SingleFlightTokens``).

No failure here ever acted on the org's data, so every error of this step says so
(``may_have_acted`` false) and carries ``phase: token``.
"""

from __future__ import annotations

from dataclasses import dataclass

from adapters.http import VendorHttpClient
from adapters.shared.jwt_grant import GRANT_TYPE, jwt_assertion
from adapters.shared.tokens import AccessToken, SingleFlightTokens
from gateway.credentials import scrub
from gateway.errors import DeadlineExceeded, GatewayError, VendorAuthFailed, VendorBadResponse

from .account import is_allowed_url

TOKEN_PATH = "/services/oauth2/token"  # noqa: S105 - a path, not a password
TOKEN_PHASE = "token"  # noqa: S105 - the name of a step


@dataclass(frozen=True)
class Grant:
    """What the assertion is made of."""

    login_url: str
    consumer_key: str
    username: str
    private_key_pem: str


class OrgSession:
    """The org's current access token and instance URL."""

    def __init__(self, grant: Grant, login: VendorHttpClient) -> None:
        self._grant = grant
        self._login = login
        self._tokens = SingleFlightTokens(self._obtain)
        self._instance_url = ""

    @property
    def instance_url(self) -> str:
        """The host of the last token obtained ("" before the first)."""
        return self._instance_url

    async def token(self, timeout_s: float) -> str:
        """A token not known to be refused; obtains one (once for all callers) if needed."""
        try:
            return await self._tokens.get(timeout_s)
        except TimeoutError:
            raise DeadlineExceeded(
                f"timed out after {timeout_s:g}s waiting for a salesforce access token; the "
                "request was not sent: retry with a longer deadline",
                metadata={"timed_out": "true", "phase": TOKEN_PHASE},
            ) from None

    def refused(self, token: str) -> None:
        """Salesforce answered 401 to ``token``: the next ``token()`` obtains another."""
        self._tokens.reject(token)

    def forget(self) -> None:
        self._tokens.forget()

    async def _obtain(self, timeout_s: float) -> AccessToken:
        grant = self._grant
        assertion = jwt_assertion(
            issuer=grant.consumer_key,
            subject=grant.username,
            audience=grant.login_url,
            private_key_pem=grant.private_key_pem,
        )
        secrets = (assertion, grant.private_key_pem)
        try:
            response = await self._login.request(
                "POST",
                TOKEN_PATH,
                form={"grant_type": GRANT_TYPE, "assertion": assertion},
                timeout_s=timeout_s,
            )
        except GatewayError as error:
            raise scrub(_token_error(error), secrets) from None
        body = response.body if isinstance(response.body, dict) else {}
        token, instance_url = body.get("access_token"), body.get("instance_url")
        if not isinstance(token, str) or not token or not isinstance(instance_url, str):
            raise _token_error(
                VendorBadResponse(
                    "salesforce answered the token request without an access token and "
                    "instance URL",
                    metadata={"vendor_status": str(response.status)},
                )
            )
        if not is_allowed_url(instance_url):
            raise _token_error(
                VendorBadResponse(
                    "salesforce named an instance URL that is not https; the gateway does not "
                    "send the token there",
                    metadata={"vendor_status": str(response.status)},
                )
            )
        self._instance_url = instance_url.rstrip("/")
        return AccessToken(token)


def _token_error(error: GatewayError) -> GatewayError:
    """A failed token request never acted on the org; a refusal (400 invalid_grant, 401
    invalid_client, ...) is a problem with the gateway's own credentials."""
    metadata = {**error.metadata, "phase": TOKEN_PHASE}
    status = metadata.get("vendor_status", "")
    if status in {"400", "401", "403"}:
        said = metadata.get("vendor_code", "")
        return VendorAuthFailed(
            f"salesforce refused the gateway's JWT bearer grant ({status}"
            + (f", {said}" if said else "")
            + "): an operator must check the connected app's consumer key and certificate, "
            "the username and its pre-authorization",
            metadata=metadata,
            may_have_acted=False,
        )
    error.metadata = metadata
    error.may_have_acted = False
    return error
