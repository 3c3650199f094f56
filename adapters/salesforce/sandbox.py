"""The Salesforce sandbox: a login host and one org per tenant behind the REST API, in one
aiohttp app on loopback, that the connector's real adapter signs in to and works with.

* ``POST /services/oauth2/token`` (no credential needed): the JWT bearer grant. Each tenant's
  account is a connected app of its own (consumer key, username, and an RSA key pair made in
  memory when the account is handed out); the assertion must be signed by that key, name the
  sandbox as its audience and live at most three minutes. The answer is an access token of
  that tenant and the sandbox's own URL as ``instance_url``. Refusals are OAuth's ``{error,
  error_description}``.
* Under ``/services/data/vNN.0``: ``sobjects/{Type}`` (create), ``sobjects/{Type}/{id}`` (read
  with ``?fields=``, update, delete), ``sobjects/{Type}/{Field}/{value}`` (read and upsert by
  the org's external id field, ``Gateway_Key__c`` on every type), ``query?q=`` (the SOQL the
  connector writes) and ``limits`` (the health probe). Errors are Salesforce's JSON array of
  ``{message, errorCode, fields}``; a token the sandbox did not issue is ``401
  INVALID_SESSION_ID``.

Records are kept per tenant (``sandbox_org.py``). What the sandbox shows of a tenant
(``received``) is each write it acted on: create, update, upsert and delete, with the fields
written. A fault (``sandbox.fail.salesforce``) at a REST path answers Salesforce's array with
the code Salesforce gives that status (``FAULT_CODES``); at the token path, OAuth's shape.
"""

from __future__ import annotations

import datetime
import secrets
import time
from dataclasses import dataclass, field
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import HttpSandbox
from adapters.shared.grant_keys import AssertionRefused, GrantKey, GrantKeys
from adapters.shared.jwt_grant import ASSERTION_LIFETIME_S, GRANT_TYPE
from gateway.sandbox import SandboxFault

from .account import SalesforceAccount
from .auth import TOKEN_PATH
from .records import SOBJECT_TYPES
from .sandbox_org import OrgError, SandboxOrg, not_found, salesforce_id

API = r"/services/data/{version:v[0-9]{2,3}\.0}"
EXTERNAL_ID_FIELD = "Gateway_Key__c"
DAILY_API_REQUESTS = 15_000
# From API version 46.0 an upsert answers an update 200 with a body saying created: false;
# before, 204 without a body.
UPSERT_BODY_SINCE = 46
# The errorCode Salesforce answers with each status, used for the faults injected.
FAULT_CODES = {
    401: "INVALID_SESSION_ID",
    403: "REQUEST_LIMIT_EXCEEDED",
    404: "NOT_FOUND",
    500: "UNKNOWN_EXCEPTION",
    503: "SERVER_UNAVAILABLE",
}
INVALID_SESSION = "Session expired or invalid"
# What the token endpoint answers a refused assertion, in Salesforce's words.
REFUSED_ASSERTION = ("invalid_grant", "invalid assertion")
GRANT_REFUSALS = {
    "unknown_issuer": ("invalid_client_id", "client identifier invalid"),
    "wrong_subject": ("invalid_grant", "user hasn't approved this consumer"),
}


def _now() -> str:
    return datetime.datetime.now(datetime.UTC).isoformat(timespec="milliseconds")


def _refused(error: OrgError) -> web.Response:
    body: dict[str, Any] = {"message": error.message, "errorCode": error.code}
    if error.fields is not None:
        body["fields"] = error.fields
    return web.json_response([body], status=error.status)


async def _values(request: web.Request) -> dict[str, Any]:
    """The request's JSON object of field values."""
    try:
        body = await request.json()
    except ValueError:
        raise OrgError(400, "JSON_PARSER_ERROR", "The request body is not valid JSON") from None
    if not isinstance(body, dict):
        raise OrgError(
            400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject from a non-object"
        )
    return body


@dataclass
class _Account:
    """One tenant's connected app and org at the sandbox."""

    grant: GrantKey
    org_id: str
    user_id: str
    org: SandboxOrg = field(default_factory=lambda: SandboxOrg(EXTERNAL_ID_FIELD))


class SalesforceSandbox(HttpSandbox[SalesforceAccount]):
    key = "salesforce"
    open_paths = frozenset({TOKEN_PATH})

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._grants = GrantKeys()
        self._accounts: dict[str, _Account] = {}

    def add_routes(self, app: web.Application) -> None:
        routes = app.router
        routes.add_post(TOKEN_PATH, self.token)
        routes.add_get(f"{API}/limits", self.limits)
        routes.add_get(f"{API}/query", self.query)
        routes.add_post(f"{API}/sobjects/{{sobject}}", self.create)
        routes.add_get(f"{API}/sobjects/{{sobject}}/{{record_id}}", self.read)
        routes.add_patch(f"{API}/sobjects/{{sobject}}/{{record_id}}", self.update)
        routes.add_delete(f"{API}/sobjects/{{sobject}}/{{record_id}}", self.delete)
        routes.add_get(f"{API}/sobjects/{{sobject}}/{{field}}/{{value}}", self.read_by_external_id)
        routes.add_patch(f"{API}/sobjects/{{sobject}}/{{field}}/{{value}}", self.upsert)

    # --- accounts and credentials ---------------------------------------------------------------

    def account_for(self, tenant: str) -> SalesforceAccount:
        """The tenant's connected app at the sandbox: its credential is a key pair, not a
        token, so the base's ``account`` is not used."""
        grant = self._account_of(tenant).grant
        return SalesforceAccount(
            login_url=self.base_url,
            consumer_key=grant.issuer,
            username=grant.subject,
            private_key=SecretStr(grant.private_pem),
            external_id_fields=dict.fromkeys(SOBJECT_TYPES, EXTERNAL_ID_FIELD),
        )

    def _account_of(self, tenant: str) -> _Account:
        found = self._accounts.get(tenant)
        if found is None:
            org_id = salesforce_id("00D")
            grant = GrantKey.generate(
                tenant,
                issuer=f"3MVG9{secrets.token_urlsafe(36)}",
                subject=f"gateway@{org_id.lower()}.sandbox.invalid",
            )
            found = self._accounts[tenant] = _Account(
                self._grants.add(grant), org_id, salesforce_id("005")
            )
        return found

    def new_credential(self, tenant: str) -> str:
        """An access token as Salesforce writes one: the org id, ``!``, then the session."""
        return f"{self._account_of(tenant).org_id[:15]}!{super().new_credential(tenant)}"

    def _org(self, request: web.Request) -> SandboxOrg:
        """The caller's org, counting the request against its daily API requests."""
        org = self._account_of(self.tenant_of(request)).org
        org.api_requests += 1
        return org

    # --- errors ----------------------------------------------------------------------------------

    def error_body(self, status: int, code: str, message: str) -> Any:
        return [{"message": message, "errorCode": code}]

    def error_for(self, request: web.Request, status: int, code: str, message: str) -> web.Response:
        if request.path == TOKEN_PATH:
            headers = {"Retry-After": "1"} if status == 429 else None
            body = {"error": code, "error_description": message}
            return web.json_response(body, status=status, headers=headers)
        if code == "unauthorized":
            message = INVALID_SESSION
        return self.error(status, FAULT_CODES.get(status, code.upper()), message)

    # --- the login host --------------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        if form.get("grant_type") != GRANT_TYPE:
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                status=400,
            )
        try:
            grant, _ = self._grants.verify(
                str(form.get("assertion", "")),
                audience=self.base_url,
                max_lifetime_s=ASSERTION_LIFETIME_S,
            )
        except AssertionRefused as refused:
            error, description = GRANT_REFUSALS.get(refused.reason, REFUSED_ASSERTION)
            return web.json_response({"error": error, "error_description": description}, status=400)
        account = self._account_of(grant.tenant)
        return web.json_response(
            {
                "access_token": self.issue(grant.tenant),
                "scope": "api",
                "instance_url": self.base_url,
                "id": f"{self.base_url}/id/{account.org_id}/{account.user_id}",
                "token_type": "Bearer",
                "issued_at": str(int(time.time() * 1000)),
            }
        )

    # --- the REST API ----------------------------------------------------------------------------

    async def limits(self, request: web.Request) -> web.Response:
        org = self._org(request)
        return web.json_response(
            {
                "DailyApiRequests": {
                    "Max": DAILY_API_REQUESTS,
                    "Remaining": max(0, DAILY_API_REQUESTS - org.api_requests),
                }
            }
        )

    async def query(self, request: web.Request) -> web.Response:
        org = self._org(request)
        text = request.query.get("q")
        try:
            if not text:
                raise OrgError(400, "MALFORMED_QUERY", "A query string (q) is required")
            records = org.query(text, request.match_info["version"])
        except OrgError as error:
            return _refused(error)
        return web.json_response({"totalSize": len(records), "done": True, "records": records})

    async def create(self, request: web.Request) -> web.Response:
        org = self._org(request)
        try:
            sobject = org.sobject(request.match_info["sobject"])
            values = await _values(request)
            record_id = org.create(sobject, values)
        except OrgError as error:
            return _refused(error)
        self._acted(request, "create", sobject, record_id, fields=values)
        return web.json_response({"id": record_id, "success": True, "errors": []}, status=201)

    async def read(self, request: web.Request) -> web.Response:
        org = self._org(request)
        try:
            sobject = org.sobject(request.match_info["sobject"])
            row = org.row(sobject, request.match_info["record_id"])
            names = self._field_list(org, sobject, request)
        except OrgError as error:
            return _refused(error)
        return web.json_response(org.view(sobject, row, names, request.match_info["version"]))

    async def update(self, request: web.Request) -> web.Response:
        org = self._org(request)
        record_id = request.match_info["record_id"]
        try:
            sobject = org.sobject(request.match_info["sobject"])
            values = await _values(request)
            org.update(sobject, record_id, values)
        except OrgError as error:
            return _refused(error)
        self._acted(request, "update", sobject, record_id, fields=values)
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        org = self._org(request)
        record_id = request.match_info["record_id"]
        try:
            sobject = org.sobject(request.match_info["sobject"])
            children = org.delete(sobject, record_id)
        except OrgError as error:
            return _refused(error)
        more = {"children_deleted": children} if children else {}
        self._acted(request, "delete", sobject, record_id, **more)
        return web.Response(status=204)

    async def read_by_external_id(self, request: web.Request) -> web.Response:
        org = self._org(request)
        version = request.match_info["version"]
        try:
            sobject = org.sobject(request.match_info["sobject"])
            found = org.matching(sobject, request.match_info["field"], request.match_info["value"])
            names = self._field_list(org, sobject, request)
            if not found:
                raise not_found()
        except OrgError as error:
            return _refused(error)
        if len(found) > 1:  # Salesforce lists the records that hold the value
            urls = [f"/services/data/{version}/sobjects/{sobject}/{r['Id']}" for r in found]
            return web.json_response(urls, status=300)
        return web.json_response(org.view(sobject, found[0], names, version))

    async def upsert(self, request: web.Request) -> web.Response:
        org = self._org(request)
        value = request.match_info["value"]
        try:
            sobject = org.sobject(request.match_info["sobject"])
            values = await _values(request)
            record_id, created = org.upsert(sobject, request.match_info["field"], value, values)
        except OrgError as error:
            return _refused(error)
        self._acted(
            request, "upsert", sobject, record_id, external_id=value, created=created, fields=values
        )
        with_body = int(request.match_info["version"][1:].split(".")[0]) >= UPSERT_BODY_SINCE
        answer = {"id": record_id, "success": True, "errors": []}
        if created:
            return web.json_response(
                {**answer, "created": True} if with_body else answer, status=201
            )
        if with_body:
            return web.json_response({**answer, "created": False})
        return web.Response(status=204)

    # --- helpers ---------------------------------------------------------------------------------

    @staticmethod
    def _field_list(org: SandboxOrg, sobject: str, request: web.Request) -> list[str] | None:
        raw = request.query.get("fields")
        if raw is None:
            return None
        return [org.field(sobject, name.strip()) for name in raw.split(",")]

    def _acted(
        self, request: web.Request, action: str, sobject: str, record_id: str, **more: Any
    ) -> None:
        """Keeps what the sandbox acted on for the caller's tenant (``fields`` as written)."""
        entry = {"action": action, "sobject": sobject, "id": record_id, **more}
        self.record(self.tenant_of(request), {**entry, "received_at": _now()})
