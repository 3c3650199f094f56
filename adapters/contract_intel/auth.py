"""Signing in to DocuSign: access tokens from the JWT grant, and where the account lives.

``POST {account server}/oauth/token`` with an RS256 assertion (issuer: the integration key,
subject: the user, audience: the account server's host, the configured scopes) answers an
access token and its ``expires_in``; tokens are shared by every call of the account, one
request at a time (``SingleFlightTokens``). ``GET {account server}/oauth/userinfo`` lists the
user's accounts with their ``base_uri``; the configured account, else the user's default, is
the one the gateway acts in, looked up once.

Neither request acts on anything: their failures never count as "the vendor may have acted".
"""

from __future__ import annotations

import asyncio
import re
import time
from collections.abc import Awaitable, Callable, Mapping
from dataclasses import dataclass
from typing import Any, TypeVar
from urllib.parse import urlsplit

from adapters.http import VendorHttpClient
from adapters.shared.jwt_grant import GRANT_TYPE, jwt_assertion
from adapters.shared.tokens import AccessToken, SingleFlightTokens
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotConfigured,
    VendorBadResponse,
)

from .account import GUID_PATTERN
from .errors import account_server_failure

T = TypeVar("T")

TOKEN_PATH = "/oauth/token"  # noqa: S105 - a path, not a secret
USERINFO_PATH = "/oauth/userinfo"
MAX_TOKEN_LIFETIME_S = 24 * 3600  # DocuSign's JWT grant tokens last an hour


@dataclass(frozen=True)
class Grant:
    """What the JWT grant asserts."""

    integration_key: str
    user_id: str
    audience: str
    scopes: tuple[str, ...]
    private_key_pem: str


@dataclass(frozen=True)
class AccountLocation:
    """The account the gateway acts in and its eSignature base URI."""

    account_id: str
    base_uri: str


class DocuSignAuth:
    """Tokens and the account's location for one DocuSign account."""

    def __init__(
        self,
        client: VendorHttpClient,
        grant: Grant,
        *,
        account_id: str | None,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        self._client = client
        self._grant = grant
        self._account_id = account_id
        self._clock = clock
        self.tokens = SingleFlightTokens(self._obtain_token, clock=clock)
        self._location: AccountLocation | None = None
        self._location_lock = asyncio.Lock()

    async def token(self, timeout_s: float) -> str:
        return await self._step(self.tokens.get(timeout_s), timeout_s, "an access token")

    def reject(self, token: str) -> None:
        self.tokens.reject(token)

    async def location(self, timeout_s: float) -> AccountLocation:
        """The account to act in; asked of user-info once, then kept."""
        if self._location is not None:
            return self._location
        loop = asyncio.get_running_loop()
        give_up_at = loop.time() + timeout_s
        try:
            async with asyncio.timeout(timeout_s), self._location_lock:
                if self._location is None:
                    token = await self.token(give_up_at - loop.time())
                    self._location = await self._step(
                        self._user_info(token, give_up_at - loop.time()),
                        give_up_at - loop.time(),
                        "the account's location",
                    )
        except TimeoutError:
            raise _too_slow(timeout_s, "the account's location") from None
        return self._location

    async def _step(self, work: Awaitable[T], timeout_s: float, what: str) -> T:
        try:
            return await work
        except GatewayError as error:
            raise account_server_failure(error) from None
        except TimeoutError:
            raise _too_slow(timeout_s, what) from None

    async def _obtain_token(self, timeout_s: float) -> AccessToken:
        grant = self._grant
        assertion = jwt_assertion(
            issuer=grant.integration_key,
            subject=grant.user_id,
            audience=grant.audience,
            private_key_pem=grant.private_key_pem,
            scope=" ".join(grant.scopes),
        )
        asked_at = self._clock()
        response = await self._client.request(
            "POST",
            TOKEN_PATH,
            form={"grant_type": GRANT_TYPE, "assertion": assertion},
            timeout_s=timeout_s,
        )
        body = response.body
        value = body.get("access_token") if isinstance(body, Mapping) else None
        lifetime = body.get("expires_in") if isinstance(body, Mapping) else None
        if not isinstance(value, str) or not value:
            raise VendorBadResponse(
                "docusign's account server answered the JWT grant without an access token",
                metadata={"vendor_status": str(response.status)},
                may_have_acted=False,
            )
        expires_at = None
        if isinstance(lifetime, int | float) and not isinstance(lifetime, bool) and lifetime > 0:
            expires_at = asked_at + min(float(lifetime), MAX_TOKEN_LIFETIME_S)
        return AccessToken(value, expires_at=expires_at)

    async def _user_info(self, token: str, timeout_s: float) -> AccountLocation:
        response = await self._client.request(
            "GET",
            USERINFO_PATH,
            headers={"Authorization": f"Bearer {token}"},
            timeout_s=timeout_s,
        )
        accounts = response.body.get("accounts") if isinstance(response.body, Mapping) else None
        if not isinstance(accounts, list):
            raise VendorBadResponse(
                "docusign's user-info answer lists no accounts",
                metadata={"vendor_status": str(response.status)},
                may_have_acted=False,
            )
        chosen = _chosen(accounts, self._account_id)
        if chosen is None:
            wanted = self._account_id or "a default account"
            raise NotConfigured(
                f"contract_intel: the DocuSign user has no access to {wanted}; check account_id"
            )
        return chosen


def _too_slow(timeout_s: float, what: str) -> GatewayError:
    return DeadlineExceeded(
        f"timed out after {timeout_s:g}s waiting for docusign's account server for {what}; "
        "nothing was sent to eSignature or Navigator",
        may_have_acted=False,
    )


def _is_default(entry: Mapping[str, Any]) -> bool:
    flag = entry.get("is_default")
    return flag is True or (isinstance(flag, str) and flag.lower() == "true")


def _chosen(accounts: list[Any], account_id: str | None) -> AccountLocation | None:
    """The configured account, or the default one, among user-info's accounts."""
    entries = [a for a in accounts if isinstance(a, Mapping)]
    if account_id is not None:
        picked = [a for a in entries if str(a.get("account_id", "")).lower() == account_id.lower()]
    else:
        picked = [a for a in entries if _is_default(a)]
    if not picked:
        return None
    entry = picked[0]
    base_uri = str(entry.get("base_uri", "")).rstrip("/")
    parts = urlsplit(base_uri)
    if parts.scheme not in ("https", "http") or not parts.hostname or parts.query:
        raise VendorBadResponse(
            "docusign's user-info answer gives the account no usable base_uri",
            may_have_acted=False,
        )
    account = str(entry.get("account_id", ""))
    if not re.fullmatch(GUID_PATTERN, account):
        raise VendorBadResponse(
            "docusign's user-info answer gives the account an id that is not a GUID",
            may_have_acted=False,
        )
    return AccountLocation(account_id=account, base_uri=base_uri)
