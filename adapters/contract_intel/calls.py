"""One authorized request to eSignature or Navigator, within the attempt's time.

The request carries the account's current access token. A 401 means DocuSign did not act:
the token is dropped, a new one obtained once, and the request sent once more. Any other
failure is the client's mapping, refined by DocuSign's own code (``errors.refined``).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from adapters.http import VendorHttpClient, VendorResponse
from gateway.contract import VendorContact
from gateway.errors import GatewayError, VendorAuthFailed

from .auth import DocuSignAuth
from .errors import refined


class Budget:
    """The time left of one attempt, shared by the token, user-info and vendor requests."""

    def __init__(self, timeout_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._give_up_at = self._loop.time() + timeout_s

    def left(self) -> float:
        return max(0.0, self._give_up_at - self._loop.time())


async def authorized(
    auth: DocuSignAuth,
    client: VendorHttpClient,
    method: str,
    path: str,
    *,
    budget: Budget,
    what: str,
    contact: VendorContact | None = None,
    json: Any = None,
    params: Mapping[str, str] | None = None,
) -> VendorResponse:
    """Sends the request with a bearer token; on a 401, once more with a new token."""

    async def send(token: str) -> VendorResponse:
        try:
            return await client.request(
                method,
                path,
                json=json,
                params=params,
                headers={"Authorization": f"Bearer {token}"},
                timeout_s=budget.left(),
                contact=contact,
            )
        except GatewayError as error:
            raise refined(error, what=what) from None

    token = await auth.token(budget.left())
    try:
        return await send(token)
    except VendorAuthFailed as error:
        if error.metadata.get("vendor_status") != "401":
            raise
        auth.reject(token)  # a 401 is an answer: DocuSign did not act
    return await send(await auth.token(budget.left()))
