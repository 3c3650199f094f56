"""A Salesforce org on loopback, built from Salesforce's documented REST behaviour.

Two hosts, as in production: the login host answers the OAuth 2.0 JWT bearer grant
(``POST /services/oauth2/token``: it checks the RS256 assertion's signature, issuer, subject,
audience and lifetime) with an access token and the instance URL; the instance host serves
the REST API under ``/services/data/vXX.X``:

* ``POST /sobjects/{Type}`` -> 201 ``{id, success, errors}``; required fields and unknown
  fields refused (400 ``REQUIRED_FIELD_MISSING``, ``INVALID_FIELD``), external id values
  unique (400 ``DUPLICATE_VALUE``);
* ``GET|PATCH|DELETE /sobjects/{Type}/{id}`` -> the record (``?fields=``), 204, 204; 404
  ``NOT_FOUND`` for an unknown id, ``ENTITY_IS_DELETED`` for a deleted one;
* ``GET|PATCH /sobjects/{Type}/{ExternalIdField}/{value}`` -> the record; upsert 201
  (created) or 200 (updated) ``{id, success, errors, created}``; 300 when several match;
* ``GET /query?q=`` -> ``{totalSize, done, records}``: the SOQL is parsed here, on its own
  (string escapes, typed literals), so what a query finds is what the text says;
* ``GET /limits``.

Every REST request needs ``Authorization: Bearer <token>`` of a token still valid, else 401
``INVALID_SESSION_ID``; ``expire_sessions()`` invalidates every token issued. Records are kept,
so reads after writes are real. ``fail_next(status, body)`` answers the next REST requests
(of one method, if named) as scripted, after the token check.
"""

from __future__ import annotations

import contextlib
import datetime
import itertools
import secrets
import time
from collections import deque
from collections.abc import AsyncIterator, Callable
from dataclasses import dataclass, field
from typing import Any

import jwt
from aiohttp import web

from adapters.salesforce.soql_reader import Comparison, SoqlError
from adapters.salesforce.soql_reader import parse as parse_soql

API = r"/services/data/{version:v[0-9]+\.0}"
ID_PREFIX = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006"}
FIELDS = {
    "Account": {
        "Name",
        "AccountNumber",
        "Type",
        "Industry",
        "Phone",
        "Website",
        "NumberOfEmployees",
        "AnnualRevenue",
        "BillingStreet",
        "BillingCity",
        "BillingState",
        "BillingPostalCode",
        "BillingCountry",
        "Description",
    },
    "Contact": {
        "FirstName",
        "LastName",
        "Email",
        "Phone",
        "MobilePhone",
        "Title",
        "AccountId",
        "LeadSource",
        "Description",
    },
    "Lead": {
        "FirstName",
        "LastName",
        "Company",
        "Email",
        "Phone",
        "MobilePhone",
        "Title",
        "Status",
        "LeadSource",
        "Description",
    },
    "Opportunity": {
        "Name",
        "StageName",
        "CloseDate",
        "Amount",
        "Probability",
        "AccountId",
        "LeadSource",
        "Description",
    },
}
REQUIRED = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Lead": ("LastName", "Company"),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
READ_ONLY = ("Id", "CreatedDate", "LastModifiedDate")
# A parent reached from a child's lookup field (Contact.Account.Name).
RELATIONSHIPS = {"Account": ("AccountId", "Account")}

INVALID_SESSION = [{"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}]


def error(status: int, code: str, message: str, fields: list[str] | None = None) -> web.Response:
    body: dict[str, Any] = {"message": message, "errorCode": code}
    if fields is not None:
        body["fields"] = fields
    return web.json_response([body], status=status)


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


@dataclass
class TokenRequest:
    grant_type: str
    assertion: str
    claims: dict[str, Any]  # the assertion's claims, as the fake read them (if it could)


@dataclass
class FakeOrg:
    consumer_key: str
    username: str
    public_key_pem: str
    external_id_fields: dict[str, str] = field(default_factory=dict)
    login_url: str = ""
    instance_url: str = ""
    advertised_instance_url: str = ""  # what token answers name (a recorder in front)
    token_requests: list[TokenRequest] = field(default_factory=list)
    records: dict[str, dict[str, dict[str, Any]]] = field(
        default_factory=lambda: {name: {} for name in ID_PREFIX}
    )
    deleted: set[str] = field(default_factory=set)
    received: int = 0  # REST requests that passed the token check
    refuse_grant: tuple[int, dict[str, str]] | None = None
    issued: list[str] = field(default_factory=list)  # every access token handed out
    _tokens: set[str] = field(default_factory=set)
    _script: deque[tuple[int, Any, str]] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))

    # --- what a test does ----------------------------------------------------------------

    def expire_sessions(self) -> None:
        self._tokens.clear()

    def fail_next(self, status: int, body: Any = None, times: int = 1, method: str = "") -> None:
        """The next ``times`` REST requests (of ``method`` only, when given) get this answer."""
        for _ in range(times):
            self._script.append((status, body, method))

    def add(self, sobject: str, **values: Any) -> str:
        """A record made by someone else (not through the gateway)."""
        return self._insert(sobject, values)

    def record(self, sobject: str, record_id: str) -> dict[str, Any] | None:
        return self.records[sobject].get(record_id)

    # --- the login host --------------------------------------------------------------------

    async def token(self, request: web.Request) -> web.Response:
        form = await request.post()
        grant_type, assertion = str(form.get("grant_type", "")), str(form.get("assertion", ""))
        claims: dict[str, Any] = {}
        refusal = "invalid assertion"
        try:
            claims = jwt.decode(
                assertion,
                self.public_key_pem,
                algorithms=["RS256"],
                audience=self.login_url,
                issuer=self.consumer_key,
                options={"require": ["exp", "iss", "sub", "aud"]},
            )
        except jwt.PyJWTError as exc:
            refusal = type(exc).__name__
        self.token_requests.append(TokenRequest(grant_type, assertion, claims))
        if self.refuse_grant is not None:
            status, body = self.refuse_grant
            return web.json_response(body, status=status)
        if grant_type != "urn:ietf:params:oauth:grant-type:jwt-bearer":
            return web.json_response(
                {
                    "error": "unsupported_grant_type",
                    "error_description": "grant type not supported",
                },
                status=400,
            )
        if not claims:
            return web.json_response(
                {"error": "invalid_grant", "error_description": refusal}, status=400
            )
        if claims["sub"] != self.username or claims["exp"] - time.time() > 180:
            return web.json_response(
                {
                    "error": "invalid_grant",
                    "error_description": "user hasn't approved this consumer",
                },
                status=400,
            )
        token = f"00D5g000000AbCd!{secrets.token_urlsafe(24)}"
        self._tokens.add(token)
        self.issued.append(token)
        return web.json_response(
            {
                "access_token": token,
                "scope": "api",
                "instance_url": self.advertised_instance_url or self.instance_url,
                "id": f"{self.login_url}/id/00D5g000000AbCdEAF/0055g000000AbCdAAA",
                "token_type": "Bearer",
            }
        )

    # --- the instance host -----------------------------------------------------------------

    @web.middleware
    async def gate(
        self, request: web.Request, handler: Callable[[web.Request], Any]
    ) -> web.StreamResponse:
        """The token check, then any scripted answer."""
        header = request.headers.get("Authorization", "")
        if not header.startswith("Bearer ") or header[7:] not in self._tokens:
            return web.json_response(INVALID_SESSION, status=401)
        self.received += 1
        if self._script and self._script[0][2] in ("", request.method):
            status, body, _ = self._script.popleft()
            if body is None:
                return web.Response(status=status)
            return web.json_response(body, status=status)
        response: web.StreamResponse = await handler(request)
        return response

    async def limits(self, request: web.Request) -> web.Response:
        return web.json_response(
            {"DailyApiRequests": {"Max": 15000, "Remaining": 15000 - self.received}}
        )

    def _known(self, sobject: str) -> bool:
        return sobject in ID_PREFIX

    def _fields(self, sobject: str) -> set[str]:
        extra = {self.external_id_fields[sobject]} if sobject in self.external_id_fields else set()
        return FIELDS[sobject] | extra

    def _invalid(self, sobject: str, values: dict[str, Any]) -> web.Response | None:
        for name in values:
            if name in READ_ONLY:
                return error(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {name}.",
                    [name],
                )
            if name not in self._fields(sobject):
                return error(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
                )
        unique = self.external_id_fields.get(sobject)
        if unique and values.get(unique) is not None:
            clash = [r for r in self.records[sobject].values() if r.get(unique) == values[unique]]
            if clash:
                return error(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {unique} duplicates value on record with id: "
                    f"{clash[0]['Id']}",
                    [],
                )
        return None

    def _missing(self, sobject: str, values: dict[str, Any]) -> web.Response | None:
        missing = [n for n in REQUIRED[sobject] if values.get(n) in (None, "")]
        if missing:
            return error(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )
        return None

    def _insert(self, sobject: str, values: dict[str, Any]) -> str:
        record_id = f"{ID_PREFIX[sobject]}5g000000{next(self._ids):04d}AAA"
        stamp = now_text()
        row = dict.fromkeys(self._fields(sobject))
        row.update(values)
        row.update({"Id": record_id, "CreatedDate": stamp, "LastModifiedDate": stamp})
        self.records[sobject][record_id] = row
        return record_id

    def _view(self, sobject: str, row: dict[str, Any], names: list[str] | None) -> dict[str, Any]:
        version = "v60.0"
        shown: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/{version}/sobjects/{sobject}/{row['Id']}",
            }
        }
        for name in names if names is not None else ["Id", *sorted(self._fields(sobject))]:
            shown[name] = row.get(name)
        if names is None:
            shown["CreatedDate"], shown["LastModifiedDate"] = (
                row["CreatedDate"],
                row["LastModifiedDate"],
            )
        return shown

    def _field_list(self, sobject: str, request: web.Request) -> list[str] | web.Response | None:
        raw = request.query.get("fields")
        if raw is None:
            return None
        names = [n.strip() for n in raw.split(",")]
        for name in names:
            if name not in self._fields(sobject) | set(READ_ONLY):
                return error(
                    400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
                )
        return names

    async def _body(self, request: web.Request) -> dict[str, Any] | web.Response:
        try:
            body = await request.json()
        except ValueError:
            return error(400, "JSON_PARSER_ERROR", "Unexpected character")
        if not isinstance(body, dict):
            return error(400, "JSON_PARSER_ERROR", "Cannot deserialize instance of sObject")
        return body

    async def create(self, request: web.Request) -> web.Response:
        sobject = request.match_info["sobject"]
        if not self._known(sobject):
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        refused = self._invalid(sobject, body) or self._missing(sobject, body)
        if refused is not None:
            return refused
        record_id = self._insert(sobject, body)
        return web.json_response({"id": record_id, "success": True, "errors": []}, status=201)

    def _row(self, sobject: str, record_id: str) -> dict[str, Any] | web.Response:
        if not self._known(sobject):
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if record_id in self.deleted:
            return error(404, "ENTITY_IS_DELETED", "entity is deleted")
        row = self.records[sobject].get(record_id)
        if row is None:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        return row

    async def read(self, request: web.Request) -> web.Response:
        sobject, record_id = request.match_info["sobject"], request.match_info["id"]
        row = self._row(sobject, record_id)
        if isinstance(row, web.Response):
            return row
        names = self._field_list(sobject, request)
        if isinstance(names, web.Response):
            return names
        return web.json_response(self._view(sobject, row, names))

    async def update(self, request: web.Request) -> web.Response:
        sobject, record_id = request.match_info["sobject"], request.match_info["id"]
        row = self._row(sobject, record_id)
        if isinstance(row, web.Response):
            return row
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        refused = self._invalid(sobject, body)
        if refused is not None:
            return refused
        row.update(body)
        row["LastModifiedDate"] = now_text()
        return web.Response(status=204)

    async def delete(self, request: web.Request) -> web.Response:
        sobject, record_id = request.match_info["sobject"], request.match_info["id"]
        row = self._row(sobject, record_id)
        if isinstance(row, web.Response):
            return row
        del self.records[sobject][record_id]
        self.deleted.add(record_id)
        return web.Response(status=204)

    def _matches(
        self, request: web.Request
    ) -> tuple[str, str, list[dict[str, Any]]] | web.Response:
        sobject, name = request.match_info["sobject"], request.match_info["field"]
        value = request.match_info["value"]
        if not self._known(sobject) or self.external_id_fields.get(sobject) != name:
            return error(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {name}",
            )
        found = [r for r in self.records[sobject].values() if r.get(name) == value]
        return sobject, value, found

    async def read_by_external_id(self, request: web.Request) -> web.Response:
        matched = self._matches(request)
        if isinstance(matched, web.Response):
            return matched
        sobject, _, found = matched
        if not found:
            return error(404, "NOT_FOUND", "The requested resource does not exist")
        if len(found) > 1:
            return web.json_response(
                [f"/services/data/v60.0/sobjects/{sobject}/{r['Id']}" for r in found], status=300
            )
        names = self._field_list(sobject, request)
        if isinstance(names, web.Response):
            return names
        return web.json_response(self._view(sobject, found[0], names))

    async def upsert(self, request: web.Request) -> web.Response:
        matched = self._matches(request)
        if isinstance(matched, web.Response):
            return matched
        sobject, value, found = matched
        body = await self._body(request)
        if isinstance(body, web.Response):
            return body
        if len(found) > 1:
            return web.json_response(
                [f"/services/data/v60.0/sobjects/{sobject}/{r['Id']}" for r in found], status=300
            )
        refused = self._invalid(sobject, body)
        if refused is not None:
            return refused
        if found:
            found[0].update(body)
            found[0]["LastModifiedDate"] = now_text()
            answer = {"id": found[0]["Id"], "success": True, "errors": [], "created": False}
            return web.json_response(answer, status=200)
        values = {**body, self.external_id_fields[sobject]: value}
        missing = self._missing(sobject, values)
        if missing is not None:
            return missing
        record_id = self._insert(sobject, values)
        answer = {"id": record_id, "success": True, "errors": [], "created": True}
        return web.json_response(answer, status=201)

    async def query(self, request: web.Request) -> web.Response:
        text = request.query.get("q", "")
        try:
            parsed = parse_soql(text)
        except SoqlError as exc:
            return error(400, "MALFORMED_QUERY", str(exc))
        sobject = parsed.sobject
        if not self._known(sobject):
            return error(400, "INVALID_TYPE", f"sObject type '{sobject}' is not supported.")
        rows = list(self.records[sobject].values())
        try:
            chosen = [r for r in rows if all(self._holds(sobject, r, c) for c in parsed.where)]
            for path, descending in reversed(parsed.order_by):
                chosen.sort(key=lambda r, p=path: _sort_key(self._value(sobject, r, p)))
                if descending:
                    chosen.reverse()
            shown = [self._selected(sobject, r, parsed.fields) for r in chosen[: parsed.limit]]
        except SoqlError as exc:
            return error(400, "INVALID_FIELD", str(exc))
        return web.json_response({"totalSize": len(shown), "done": True, "records": shown})

    def _value(self, sobject: str, row: dict[str, Any], path: str) -> Any:
        parts = path.split(".")
        if len(parts) == 2 and parts[0] in RELATIONSHIPS:
            lookup, parent = RELATIONSHIPS[parts[0]]
            if lookup not in self._fields(sobject):
                raise SoqlError(f"Didn't understand relationship '{parts[0]}'")
            parent_row = self.records[parent].get(row.get(lookup) or "")
            return None if parent_row is None else self._value(parent, parent_row, parts[1])
        if len(parts) != 1 or parts[0] not in self._fields(sobject) | set(READ_ONLY):
            raise SoqlError(f"No such column '{path}' on entity '{sobject}'")
        return row.get(parts[0])

    def _selected(self, sobject: str, row: dict[str, Any], paths: list[str]) -> dict[str, Any]:
        shown: dict[str, Any] = {
            "attributes": {
                "type": sobject,
                "url": f"/services/data/v60.0/sobjects/{sobject}/{row['Id']}",
            }
        }
        for path in paths:
            value = self._value(sobject, row, path)
            parts = path.split(".")
            if len(parts) == 2:
                parent = shown.setdefault(parts[0], {"attributes": {"type": parts[0]}})
                parent[parts[1]] = value
            else:
                shown[path] = value
        return shown

    def _holds(self, sobject: str, row: dict[str, Any], condition: Comparison) -> bool:
        value = self._value(sobject, row, condition.field)
        return condition.holds(value)


# --- SOQL: read by the sandbox org's reader, independent of the connector's writer -------


def _sort_key(value: Any) -> tuple[int, Any]:
    return (0, "") if value is None else (1, value)


# --- running it ---------------------------------------------------------------------------


async def _serve(app: web.Application) -> tuple[web.AppRunner, str]:
    runner = web.AppRunner(app, access_log=None)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    return runner, f"http://{host}:{port}"


@contextlib.asynccontextmanager
async def fake_org(
    *,
    consumer_key: str,
    username: str,
    public_key_pem: str,
    external_id_fields: dict[str, str] | None = None,
) -> AsyncIterator[FakeOrg]:
    """Runs the login and instance hosts of a ``FakeOrg`` on 127.0.0.1 until the block exits."""
    org = FakeOrg(consumer_key, username, public_key_pem, dict(external_id_fields or {}))
    login = web.Application()
    login.router.add_post("/services/oauth2/token", org.token)
    instance = web.Application(middlewares=[org.gate])
    routes = instance.router
    routes.add_get(f"{API}/limits", org.limits)
    routes.add_get(f"{API}/query", org.query)
    routes.add_post(f"{API}/sobjects/{{sobject}}", org.create)
    routes.add_get(f"{API}/sobjects/{{sobject}}/{{id}}", org.read)
    routes.add_patch(f"{API}/sobjects/{{sobject}}/{{id}}", org.update)
    routes.add_delete(f"{API}/sobjects/{{sobject}}/{{id}}", org.delete)
    routes.add_get(f"{API}/sobjects/{{sobject}}/{{field}}/{{value}}", org.read_by_external_id)
    routes.add_patch(f"{API}/sobjects/{{sobject}}/{{field}}/{{value}}", org.upsert)
    login_runner, org.login_url = await _serve(login)
    instance_runner, org.instance_url = await _serve(instance)
    try:
        yield org
    finally:
        await instance_runner.cleanup()
        await login_runner.cleanup()
