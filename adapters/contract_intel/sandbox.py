"""The DocuSign sandbox: the account server, eSignature and Navigator of one DocuSign account
per tenant, in one aiohttp app on loopback, that the connector's real adapter signs in to and
works with. The account's ``auth_server`` and ``navigator_url`` and the ``base_uri`` its
user-info names are all the sandbox's own URL; the three APIs live under their own paths.

* Account server: ``POST /oauth/token`` (no credential needed) takes the JWT grant. Each
  tenant's account is an integration of its own (integration key, user id, and an RSA key
  pair made in memory when the account is handed out); the assertion must be signed by that
  key, name the sandbox's host as its audience, ask for the ``signature`` and
  ``impersonation`` scopes and live at most an hour. The answer is an access token of that
  tenant, valid for ``expires_in`` (an hour). ``GET /oauth/userinfo`` names the tenant's one
  account as its default. Refusals are OAuth's ``{error, error_description}``.
* eSignature, under ``/restapi/v2.1/accounts/{accountId}``: the account (the health probe),
  ``envelopes`` (send, and list with ``from_date``, ``custom_field``, ``include``...) and
  ``envelopes/{envelopeId}`` (read; ``PUT`` to void). Errors are ``{errorCode, message}``.
* Navigator, under ``/v1/accounts/{accountId}``: ``agreements`` and
  ``agreements/{agreementId}``, over a few sample agreements per tenant. Errors are
  ``{error, code, timestamp}`` (a plain-text 401).

What the sandbox shows of a tenant (``received``) is each envelope it accepted and each void.
A fault (``sandbox.fail.contract_intel``) answers in the shape of the API its path belongs
to, with the code DocuSign gives the status where it has one (``FAULT_CODES``).
"""

from __future__ import annotations

import datetime
import time
import uuid
from collections.abc import Callable
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import urlsplit

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import HttpSandbox
from adapters.shared.grant_keys import AssertionRefused, GrantKey, GrantKeys
from adapters.shared.jwt_grant import GRANT_TYPE
from gateway.sandbox import SandboxFault

from .account import ContractIntelAccount
from .agreements import NAVIGATOR_PATH
from .auth import TOKEN_PATH, USERINFO_PATH
from .envelopes import ESIGNATURE_PATH
from .sandbox_agreements import NavigatorError, agreement, page, sample_agreements, utc_now
from .sandbox_envelopes import Envelopes, EsignError, shown

ESIGNATURE = ESIGNATURE_PATH + "/{account_id}"
NAVIGATOR = NAVIGATOR_PATH + "/{account_id}"
TOKEN_LIFETIME_S = 3600
REQUIRED_SCOPES = frozenset({"signature", "impersonation"})
OWN_PARTY = "SANDBOX COMPANY"  # the tenant's side of the sample agreements
# The errorCode eSignature answers with a status, used for the faults injected.
FAULT_CODES = {401: "AUTHORIZATION_INVALID_TOKEN", 429: "HOURLY_APIINVOCATION_LIMIT_EXCEEDED"}
INVALID_TOKEN = "The access token provided is expired, revoked or malformed."  # noqa: S105
NAVIGATOR_UNAUTHORIZED = "Unauthorized - Please provide a valid access token."
# What the account server answers a refused assertion, in DocuSign's words.
GRANT_REFUSALS = {
    "unknown_issuer": "issuer_not_found",
    "wrong_subject": "user_not_found",
    "too_long": "invalid_request",
}


def _answer(body: Any, status: int, content_type: str = "application/json") -> web.Response:
    headers = {"Retry-After": "1"} if status == 429 else None
    return web.json_response(body, status=status, headers=headers, content_type=content_type)


def _oauth_error(status: int, error: str, description: str) -> web.Response:
    return _answer({"error": error, "error_description": description}, status)


def _esign_error(error: EsignError) -> web.Response:
    return _answer({"errorCode": error.code, "message": error.message}, error.status)


def _navigator_error(status: int, message: str) -> web.Response:
    body = {"error": message, "code": status, "timestamp": utc_now()}
    return _answer(body, status, content_type="application/problem+json")


@dataclass
class _Account:
    """One tenant's DocuSign account at the sandbox."""

    grant: GrantKey
    account_id: str
    envelopes: Envelopes = field(default_factory=Envelopes)
    agreements: list[dict[str, Any]] = field(default_factory=list)


class ContractIntelSandbox(HttpSandbox[ContractIntelAccount]):
    key = "contract_intel"
    open_paths = frozenset({TOKEN_PATH})

    def __init__(
        self, fault: SandboxFault | None = None, *, clock: Callable[[], float] = time.monotonic
    ) -> None:
        super().__init__(fault)
        self._clock = clock
        self._grants = GrantKeys()
        self._accounts: dict[str, _Account] = {}
        self._expiry: dict[str, float] = {}  # access token -> when it stops being taken

    def add_routes(self, app: web.Application) -> None:
        routes = app.router
        routes.add_post(TOKEN_PATH, self.token)
        routes.add_get(USERINFO_PATH, self.user_info)
        routes.add_get(ESIGNATURE, self.read_account)
        routes.add_post(f"{ESIGNATURE}/envelopes", self.send)
        routes.add_get(f"{ESIGNATURE}/envelopes", self.list_envelopes)
        routes.add_get(f"{ESIGNATURE}/envelopes/{{envelope_id}}", self.read_envelope)
        routes.add_put(f"{ESIGNATURE}/envelopes/{{envelope_id}}", self.change_envelope)
        routes.add_get(f"{NAVIGATOR}/agreements", self.list_agreements)
        routes.add_get(f"{NAVIGATOR}/agreements/{{agreement_id}}", self.read_agreement)

    # --- accounts and credentials ---------------------------------------------------------------

    def account_for(self, tenant: str) -> ContractIntelAccount:
        """The tenant's integration at the sandbox: its credential is a key pair, not a
        token, so the base's ``account`` is not used."""
        grant = self._account_of(tenant).grant
        return ContractIntelAccount(
            integration_key=grant.issuer,
            user_id=grant.subject,
            private_key=SecretStr(grant.private_pem),
            auth_server=self.base_url,
            navigator_url=self.base_url,
        )

    def _account_of(self, tenant: str) -> _Account:
        found = self._accounts.get(tenant)
        if found is None:
            user_id = str(uuid.uuid4())
            grant = GrantKey.generate(tenant, issuer=str(uuid.uuid4()), subject=user_id)
            account_id = str(uuid.uuid4())
            found = self._accounts[tenant] = _Account(
                self._grants.add(grant),
                account_id,
                agreements=sample_agreements(account_id, user_id, OWN_PARTY),
            )
        return found

    def credential_of(self, request: web.Request) -> str | None:
        """The bearer token, while it has not expired."""
        token = super().credential_of(request)
        if token is None or self._clock() >= self._expiry.get(token, float("inf")):
            return None
        return token

    def _in_path(self, request: web.Request) -> _Account:
        """The caller's account, when the path names it."""
        account = self._account_of(self.tenant_of(request))
        if request.match_info["account_id"].lower() != account.account_id:
            if request.path.startswith(NAVIGATOR_PATH):
                raise NavigatorError(403, "The user has no access to this account.")
            raise EsignError(
                400,
                "USER_DOES_NOT_BELONG_TO_SPECIFIED_ACCOUNT",
                "The specified User is not a member of the specified Account.",
            )
        return account

    # --- errors ----------------------------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"errorCode": code, "message": message}

    def error_for(self, request: web.Request, status: int, code: str, message: str) -> web.Response:
        unauthorized = code == "unauthorized"
        if request.path.startswith("/oauth/"):
            return _oauth_error(status, "invalid_token" if unauthorized else code, message)
        if request.path.startswith(NAVIGATOR_PATH):
            if unauthorized:
                return web.Response(status=401, text=NAVIGATOR_UNAUTHORIZED)
            return _navigator_error(status, message)
        if unauthorized:
            message = INVALID_TOKEN
        return _esign_error(EsignError(status, FAULT_CODES.get(status, code.upper()), message))

    # --- the account server ----------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != GRANT_TYPE:
            return _oauth_error(400, "unsupported_grant_type", "the grant type is not supported")
        try:
            grant, claims = self._grants.verify(
                str(form.get("assertion", "")),
                audience=urlsplit(self.base_url).hostname or "",
                max_lifetime_s=TOKEN_LIFETIME_S,
            )
        except AssertionRefused as refused:
            description = GRANT_REFUSALS.get(refused.reason, "no_valid_keys_or_signatures")
            return _oauth_error(400, "invalid_grant", description)
        if not set(str(claims.get("scope", "")).split()) >= REQUIRED_SCOPES:
            return _oauth_error(400, "consent_required", "the user has not consented")
        now = self._clock()
        self._expiry = {t: at for t, at in self._expiry.items() if at > now}
        token = self.issue(grant.tenant)
        self._expiry[token] = now + TOKEN_LIFETIME_S
        return web.json_response(
            {"access_token": token, "token_type": "Bearer", "expires_in": TOKEN_LIFETIME_S}
        )

    async def user_info(self, request: web.Request) -> web.Response:
        tenant = self.tenant_of(request)
        account = self._account_of(tenant)
        return web.json_response(
            {
                "sub": account.grant.subject,
                "name": "Gateway Sandbox",
                "email": "gateway@sandbox.invalid",
                "accounts": [
                    {
                        "account_id": account.account_id,
                        "is_default": True,
                        "account_name": f"Gateway sandbox ({tenant})",
                        "base_uri": self.base_url,
                    }
                ],
            }
        )

    # --- eSignature ------------------------------------------------------------------------------

    async def read_account(self, request: web.Request) -> web.Response:
        try:
            account = self._in_path(request)
        except EsignError as error:
            return _esign_error(error)
        return web.json_response(
            {
                "accountIdGuid": account.account_id,
                "accountName": "Gateway sandbox",
                "planName": "DEVELOPER SANDBOX",
                "currencyCode": "USD",
            }
        )

    async def send(self, request: web.Request) -> web.Response:
        try:
            account = self._in_path(request)
            try:
                definition = await request.json()
            except ValueError:
                definition = None
            if not isinstance(definition, dict):
                raise EsignError(
                    400,
                    "INVALID_REQUEST_BODY",
                    "The request body is missing or improperly formatted.",
                )
            sent = account.envelopes.create(definition)
        except EsignError as error:
            return _esign_error(error)
        self._acted(request, "send", sent.summary)
        envelope = sent.envelope
        return web.json_response(
            {
                "envelopeId": envelope["envelopeId"],
                "uri": envelope["envelopeUri"],
                "statusDateTime": envelope["statusChangedDateTime"],
                "status": envelope["status"],
            },
            status=201,
        )

    async def list_envelopes(self, request: web.Request) -> web.Response:
        try:
            found = self._in_path(request).envelopes.listed(request.query)
        except EsignError as error:
            return _esign_error(error)
        include = request.query.get("include", "")
        size = str(len(found))
        return web.json_response(
            {
                "resultSetSize": size,
                "totalSetSize": size,
                "startPosition": request.query.get("start_position", "0"),
                "endPosition": str(max(0, len(found) - 1)),
                "envelopes": [shown(envelope, include) for envelope in found],
            }
        )

    async def read_envelope(self, request: web.Request) -> web.Response:
        try:
            envelope = self._in_path(request).envelopes.get(request.match_info["envelope_id"])
        except EsignError as error:
            return _esign_error(error)
        return web.json_response(shown(envelope, request.query.get("include", "")))

    async def change_envelope(self, request: web.Request) -> web.Response:
        envelope_id = request.match_info["envelope_id"]
        try:
            account = self._in_path(request)
            try:
                change = await request.json()
            except ValueError:
                change = None
            if not isinstance(change, dict):
                raise EsignError(
                    400,
                    "INVALID_REQUEST_BODY",
                    "The request body is missing or improperly formatted.",
                )
            voided = account.envelopes.void(envelope_id, change)
        except EsignError as error:
            return _esign_error(error)
        self._acted(
            request,
            "void",
            {"envelope_id": voided["envelopeId"], "voided_reason": voided["voidedReason"]},
        )
        return web.json_response({"envelopeId": voided["envelopeId"]})

    # --- Navigator -------------------------------------------------------------------------------

    async def list_agreements(self, request: web.Request) -> web.Response:
        try:
            account = self._in_path(request)
            return web.json_response(
                page(account.agreements, request.query, f"{self.base_url}{request.path}")
            )
        except NavigatorError as error:
            return _navigator_error(error.status, error.message)

    async def read_agreement(self, request: web.Request) -> web.Response:
        try:
            account = self._in_path(request)
            return web.json_response(
                agreement(account.agreements, request.match_info["agreement_id"])
            )
        except NavigatorError as error:
            return _navigator_error(error.status, error.message)

    # --- what it acted on ------------------------------------------------------------------------

    def _acted(self, request: web.Request, action: str, summary: dict[str, Any]) -> None:
        received_at = datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")
        entry = {"action": action, **summary, "received_at": received_at}
        self.record(self.tenant_of(request), entry)
