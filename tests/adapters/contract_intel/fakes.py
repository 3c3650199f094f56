"""DocuSign on loopback for the ``contract_intel`` tests.

* ``AccountServer``: the account server, which the published descriptions leave out. It
  checks each JWT grant's assertion (signature, issuer, subject, audience, scope), answers
  tokens ``token-1``, ``token-2``, … with an ``expires_in``, and lists the user's accounts at
  ``/oauth/userinfo``. A token request can be held until the test lets it go, or refused.
* ``ESignature``: an eSignature account that keeps the envelopes it is sent, finds them by
  custom field as DocuSign's envelope list does, voids them, refuses a token the account
  server did not issue (or revoked) with DocuSign's 401, and answers scripted errors.
Between the recorder and Prism the tests put ``tests.support.prefer_proxy.PreferProxy``: it
drops eSignature's ``/restapi`` base path, which Prism does not serve under, and asks Prism for
a status with ``Prefer: code=N`` when a test wants one.

Each runs in the test's event loop on a port the OS picks and stops when its context exits.
"""

from __future__ import annotations

import asyncio
import datetime
import uuid
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ACCOUNT_ID = "f1e2d3c4-b5a6-4789-9abc-0123456789ab"
OTHER_ACCOUNT_ID = "0a1b2c3d-4e5f-4a6b-8c7d-8e9fa0b1c2d3"
INTEGRATION_KEY = "7c2b8d7e-1111-4c3d-9e8f-aabbccddeeff"
USER_ID = "45a1f0e2-2222-4b3c-8d9e-112233445566"
GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
BAD_TOKEN = {
    "errorCode": "AUTHORIZATION_INVALID_TOKEN",
    "message": "The access token provided is expired, revoked or malformed.",
}


@dataclass(frozen=True)
class SigningKey:
    pem: str
    public: rsa.RSAPublicKey


def signing_key() -> SigningKey:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    pem = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    ).decode()
    return SigningKey(pem, key.public_key())


@asynccontextmanager
async def serving(app: web.Application) -> AsyncIterator[str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    port = runner.addresses[0][1]
    try:
        yield f"http://127.0.0.1:{port}"
    finally:
        await runner.cleanup()


@dataclass
class AccountServer:
    public_key: rsa.RSAPublicKey
    expires_in: int = 3600
    url: str = ""
    base_uri: str = ""  # the eSignature base URI user-info gives the account
    accounts: list[dict[str, Any]] | None = None  # user-info's list; None: the one account
    grants: list[dict[str, Any]] = field(default_factory=list)  # each grant's claims
    userinfo_requests: int = 0
    issued: list[str] = field(default_factory=list)
    revoked: set[str] = field(default_factory=set)
    refusals: deque[tuple[int, Any]] = field(default_factory=deque)  # next token answers
    hold: asyncio.Event | None = None  # token answers wait for it when set to an Event
    holding: int = 0  # token requests waiting on ``hold``
    _held: asyncio.Condition = field(default_factory=asyncio.Condition)

    def valid(self, authorization: str | None) -> bool:
        scheme, _, token = (authorization or "").partition(" ")
        return scheme == "Bearer" and token in self.issued and token not in self.revoked

    def revoke_all(self) -> None:
        self.revoked.update(self.issued)

    async def wait_holding(self, count: int) -> None:
        async with asyncio.timeout(10), self._held:
            await self._held.wait_for(lambda: self.holding >= count)

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != GRANT_TYPE:
            return web.json_response({"error": "unsupported_grant_type"}, status=400)
        try:
            claims = jwt.decode(
                str(form.get("assertion", "")),
                self.public_key,
                algorithms=["RS256"],
                audience="127.0.0.1",
                options={"require": ["iss", "sub", "aud", "iat", "exp", "scope"]},
            )
        except jwt.PyJWTError:
            return web.json_response({"error": "invalid_grant"}, status=400)
        self.grants.append(claims)
        if claims["iss"] != INTEGRATION_KEY or claims["sub"] != USER_ID:
            return web.json_response({"error": "invalid_grant"}, status=400)
        if self.refusals:
            status, body = self.refusals.popleft()
            return web.json_response(body, status=status)
        if self.hold is not None:
            async with self._held:
                self.holding += 1
                self._held.notify_all()
            await self.hold.wait()
        self.issued.append(f"token-{len(self.issued) + 1}")
        return web.json_response(
            {"access_token": self.issued[-1], "token_type": "Bearer", "expires_in": self.expires_in}
        )

    async def userinfo(self, request: web.Request) -> web.Response:
        self.userinfo_requests += 1
        if not self.valid(request.headers.get("Authorization")):
            return web.json_response({"error": "invalid_request"}, status=401)
        accounts = self.accounts
        if accounts is None:
            accounts = [
                {
                    "account_id": ACCOUNT_ID,
                    "is_default": True,
                    "account_name": "Legal",
                    "base_uri": self.base_uri,
                }
            ]
        return web.json_response({"sub": USER_ID, "accounts": accounts})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[AccountServer]:
        app = web.Application()
        app.router.add_post("/oauth/token", self.token)
        app.router.add_get("/oauth/userinfo", self.userinfo)
        async with serving(app) as url:
            self.url = url
            yield self


@dataclass
class ESignature:
    """One DocuSign account's envelopes, under ``/restapi/v2.1/accounts/{accountId}``."""

    auth: AccountServer
    url: str = ""
    envelopes: dict[str, dict[str, Any]] = field(default_factory=dict)
    script: deque[tuple[int, Any]] = field(default_factory=deque)  # next answers
    honour_filter: bool = True  # False: the list ignores custom_field
    seen: list[tuple[str, str, str]] = field(default_factory=list)  # method, path, bearer
    list_queries: list[dict[str, str]] = field(default_factory=list)

    def _refusal(self, request: web.Request) -> web.Response | None:
        self.seen.append((request.method, request.path, request.headers.get("Authorization", "")))
        if not self.auth.valid(request.headers.get("Authorization")):
            return web.json_response(BAD_TOKEN, status=401)
        if request.match_info["account_id"] != ACCOUNT_ID:
            return web.json_response(
                {"errorCode": "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT", "message": "No."},
                status=400,
            )
        if self.script:
            status, body = self.script.popleft()
            return web.json_response(body, status=status)
        return None

    async def account(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        return refused or web.json_response({"accountIdGuid": ACCOUNT_ID, "accountName": "Legal"})

    async def create(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        definition = await request.json()
        envelope_id = str(uuid.uuid4())
        now = datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.%fZ")
        self.envelopes[envelope_id] = {
            "envelopeId": envelope_id,
            "status": definition.get("status", "created"),
            "emailSubject": definition.get("emailSubject"),
            "createdDateTime": now,
            "statusChangedDateTime": now,
            "customFields": definition.get("customFields", {}),
        }
        return web.json_response(
            {
                "envelopeId": envelope_id,
                "status": "sent",
                "statusDateTime": now,
                "uri": f"/envelopes/{envelope_id}",
            },
            status=201,
        )

    async def listing(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        self.list_queries.append(dict(request.query))
        if "from_date" not in request.query:
            return web.json_response(
                {"errorCode": "INVALID_REQUEST_PARAMETER", "message": "from_date"}, status=400
            )
        found = list(self.envelopes.values())
        name, _, value = request.query.get("custom_field", "").partition("=")
        if name and self.honour_filter:
            found = [e for e in found if _has_field(e, name, value)]
        with_fields = "custom_fields" in request.query.get("include", "")
        shown = [
            e if with_fields else {k: v for k, v in e.items() if k != "customFields"} for e in found
        ]
        return web.json_response(
            {"envelopes": shown, "resultSetSize": str(len(shown)), "totalSetSize": str(len(shown))}
        )

    async def read(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        envelope = self.envelopes.get(request.match_info["envelope_id"])
        if envelope is None:
            return web.json_response(
                {"errorCode": "ENVELOPE_DOES_NOT_EXIST", "message": "The envelope does not exist."},
                status=404,
            )
        return web.json_response({k: v for k, v in envelope.items() if k != "customFields"})

    async def update(self, request: web.Request) -> web.Response:
        refused = self._refusal(request)
        if refused is not None:
            return refused
        envelope = self.envelopes.get(request.match_info["envelope_id"])
        if envelope is None:
            return web.json_response(
                {"errorCode": "ENVELOPE_DOES_NOT_EXIST", "message": "The envelope does not exist."},
                status=404,
            )
        change = await request.json()
        if change.get("status") == "voided":
            if envelope["status"] in ("voided", "completed"):
                return web.json_response(
                    {"errorCode": "ENVELOPE_CANNOT_VOID_INVALID_STATE", "message": "Voided."},
                    status=400,
                )
            envelope["status"] = "voided"
            envelope["voidedReason"] = change.get("voidedReason")
        return web.json_response({"envelopeId": envelope["envelopeId"]})

    @asynccontextmanager
    async def running(self) -> AsyncIterator[ESignature]:
        app = web.Application()
        base = "/restapi/v2.1/accounts/{account_id}"
        app.router.add_get(base, self.account)
        app.router.add_post(f"{base}/envelopes", self.create)
        app.router.add_get(f"{base}/envelopes", self.listing)
        app.router.add_get(f"{base}/envelopes/{{envelope_id}}", self.read)
        app.router.add_put(f"{base}/envelopes/{{envelope_id}}", self.update)
        async with serving(app) as url:
            self.url = url
            yield self


def _has_field(envelope: dict[str, Any], name: str, value: str) -> bool:
    texts = envelope.get("customFields", {}).get("textCustomFields", [])
    return any(f.get("name") == name and f.get("value") == value for f in texts)
