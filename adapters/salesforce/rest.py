"""Authenticated requests to one org's REST API, each within the attempt's time.

A request carries the current access token. When Salesforce answers 401 (the session expired
or was revoked) it did not act, so the token is given up, a new one obtained (one request for
all concurrent callers) and the request sent once more; a second 401 is the gateway's
credentials failing (VENDOR_AUTH_FAILED).

The instance URL comes with each token; the HTTP client of an instance is opened the first
time a token names it and kept until shutdown (an org's instance URL seldom changes).
"""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

from adapters.http import VendorHttpClient, VendorResponse
from gateway.contract import VendorContact
from gateway.errors import GatewayError, ShuttingDown, VendorAuthFailed

from .auth import OrgSession
from .errors import parse_error, refine

VENDOR = "salesforce"


class Budget:
    """The time left of one attempt, shared by the steps it takes (token, read, write)."""

    def __init__(self, timeout_s: float) -> None:
        self._loop = asyncio.get_running_loop()
        self._ends_at = self._loop.time() + timeout_s

    def left(self) -> float:
        return max(0.0, self._ends_at - self._loop.time())


@dataclass(frozen=True)
class _Send:
    method: str
    path: str
    json: Any
    params: Mapping[str, str] | None
    contact: VendorContact | None


class SalesforceRest:
    def __init__(self, session: OrgSession, api_version: str) -> None:
        self._session = session
        self._api_version = api_version
        self._instances: dict[str, VendorHttpClient] = {}
        self._closed = False

    def data_path(self, path: str) -> str:
        """``path`` under ``/services/data/<version>``."""
        return f"/services/data/{self._api_version}/{path.lstrip('/')}"

    async def request(
        self,
        method: str,
        path: str,
        *,
        budget: Budget,
        json: Any = None,
        params: Mapping[str, str] | None = None,
        contact: VendorContact | None = None,
    ) -> VendorResponse:
        """Sends ``method path`` (under the data path) with the current token; ``contact``
        only for a request that may change something."""
        if self._closed:
            raise ShuttingDown("the salesforce connector is shutting down; nothing was sent")
        send = _Send(method, self.data_path(path), json, params, contact)
        token = await self._session.token(budget.left())
        try:
            return await self._send(token, send, budget)
        except VendorAuthFailed as error:
            if error.metadata.get("vendor_status") != "401":
                raise
            self._session.refused(token)  # it did not act: a new token, and one more try
        token = await self._session.token(budget.left())
        return await self._send(token, send, budget)

    async def _send(self, token: str, send: _Send, budget: Budget) -> VendorResponse:
        client = self._client(self._session.instance_url)
        try:
            return await client.request(
                send.method,
                send.path,
                json=send.json,
                params=send.params,
                headers={"Authorization": f"Bearer {token}"},
                timeout_s=budget.left(),
                contact=send.contact,
            )
        except GatewayError as error:
            raise refine(error, where=f"{send.method} {send.path}") from None

    def _client(self, instance_url: str) -> VendorHttpClient:
        client = self._instances.get(instance_url)
        if client is None:
            client = VendorHttpClient(VENDOR, instance_url, error_parser=parse_error)
            self._instances[instance_url] = client
        return client

    async def close(self) -> None:
        """Drops the token and closes every instance's client. Never raises."""
        self._closed = True
        self._session.forget()
        clients, self._instances = list(self._instances.values()), {}
        for client in clients:
            await client.close()
