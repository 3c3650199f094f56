"""The HTTP side's routes: liveness, the connectors' health as JSON, and the approval queue.

Reads of the board may be opened by configuration (``http_open_reads``); everything else
needs the same identity as the gRPC side (``gateway.http.callers``). Changes are POSTs
carrying a CSRF token bound to the caller, and are audited in the same hash chain as gRPC
calls. Host and Origin checks, refusals and connection bounds are in ``gateway.http``.
"""

from __future__ import annotations

import asyncio
import json
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from google.protobuf import json_format

from gateway.api.approval_service import decide, to_message
from gateway.approvals.model import Approval, ApprovalStatus
from gateway.approvals.store import ApprovalStore
from gateway.audit.record import AuditEvent, AuditLog, Outcome
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.clock import utc_now
from gateway.descriptors import health_entry
from gateway.errors import (
    ApprovalNotFound,
    BodyTimeout,
    CsrfRejected,
    FieldViolation,
    InvalidField,
    LoginTokenInvalid,
    MalformedRequest,
    MissingField,
    OperatorRequired,
    PayloadTooLarge,
)
from gateway.field_rules import APPROVAL_ID, check_format, check_text
from gateway.health_state import HealthTracker
from gateway.http.callers import HttpCallers
from gateway.http.hosts import AllowedHosts, host_guard
from gateway.http.login import LOGIN_PATH, SESSION_COOKIE, SignIn
from gateway.http.refusals import refusal_middleware, remember_approval, remember_identity
from gateway.http.signed import SignedTokens
from gateway.identity import Identity
from gateway.paging import MAX_PAGE_SIZE, decode, page, page_size
from gateway.registry import Registry
from gateway.settings import HttpSettings

CSRF_HEADER = "X-CSRF-Token"
CSRF_TTL_S = 3600
OPEN_READS_TENANT = "default"
HEALTHZ_PATH = "/healthz"  # answers probes addressed by IP, whatever the host names
AFTER_LOGIN_PATH = "/v1/approvals"
_STATUSES = ", ".join(status.value for status in ApprovalStatus)


async def read_json_object(request: web.Request, http: HttpSettings) -> dict[str, Any]:
    """The request's body as a JSON object ({} when empty), read within
    ``http.body_timeout_s`` and ``http.max_body_bytes``."""
    if request.content_length is not None and request.content_length > http.max_body_bytes:
        raise _too_large(http)
    try:
        async with asyncio.timeout(http.body_timeout_s):
            raw = await request.read()
    except TimeoutError:
        raise BodyTimeout(
            f"the request body did not arrive within {http.body_timeout_s:g} s "
            "(http.body_timeout_s)"
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(http) from None
    if not raw.strip():
        return {}
    try:
        body = json.loads(raw)
    except (ValueError, RecursionError):
        raise MalformedRequest(
            'the body is not JSON: send a JSON object, e.g. {"note": "..."}'
        ) from None
    if not isinstance(body, dict):
        raise MalformedRequest('the body must be a JSON object, e.g. {"note": "..."}')
    return body


def _too_large(http: HttpSettings) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {http.max_body_bytes} bytes (http.max_body_bytes)",
        metadata={"limit_bytes": str(http.max_body_bytes)},
    )


def _approval_id(request: web.Request) -> str:
    """The approval id in the path, in the format the gateway hands out (INVALID_FIELD
    otherwise, as over gRPC)."""
    return check_format("approval_id", request.match_info["approval_id"], APPROVAL_ID)


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 store can hold.
    if not isinstance(value, str) or not _is_unicode_text(value):
        raise InvalidField(
            f"{name} must be a string of Unicode text",
            violations=(FieldViolation(name, "must be a string of Unicode text"),),
        )
    return check_text(name, value)


def _is_unicode_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _page_size(request: web.Request) -> int:
    text = request.query.get("page_size", "")
    if not text:
        return 0
    if (
        not (text.isascii() and text.isdigit())
        or len(text) > 4
        or not 1 <= int(text) <= MAX_PAGE_SIZE
    ):
        raise InvalidField(
            f"page_size must be a whole number from 1 to {MAX_PAGE_SIZE}",
            violations=(FieldViolation("page_size", f"1 to {MAX_PAGE_SIZE}"),),
        )
    return int(text)


def build_app(
    *,
    registry: Registry,
    health: HealthTracker,
    serving: Callable[[], bool],
    callers: HttpCallers,
    approvals: ApprovalStore,
    audit: AuditLog,
    refusals: RefusalLimiter,
    open_reads: bool,
    hosts: AllowedHosts,
    http: HttpSettings,
    sign_in: SignIn | None,
    secure: bool,
    first_middleware: Middleware | None = None,
) -> web.Application:
    csrf = SignedTokens("csrf", CSRF_TTL_S)

    def identify(request: web.Request) -> Identity:
        identity = callers.identify(request)
        remember_identity(request, identity)
        return identity

    def guarded(
        handler: Callable[[web.Request, Identity], Awaitable[web.StreamResponse]],
        *,
        change: bool = False,
        operator: bool = False,
    ) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        async def run(request: web.Request) -> web.StreamResponse:
            identity = identify(request)
            if operator and not identity.operator:
                raise OperatorRequired(
                    f"caller {identity.caller!r} is not an operator",
                    metadata={"caller": identity.caller},
                )
            tokens = request.headers.getall(CSRF_HEADER, [])
            if change and not (len(tokens) == 1 and csrf.valid(identity.caller, tokens[0])):
                raise CsrfRejected(
                    f"send the {CSRF_HEADER} header with a token from GET /v1/csrf-token"
                )
            return await handler(request, identity)

        return run

    async def healthz(_: web.Request) -> web.Response:
        if serving():
            return web.Response(text="SERVING\n")
        return web.Response(status=503, text="NOT_SERVING\n")

    async def connectors_for(tenant: str) -> web.Response:
        rows: list[dict[str, Any]] = []
        for connector in registry.all():
            state = await health.get(tenant, connector.key)
            rows.append(
                json_format.MessageToDict(
                    health_entry(connector, tenant, state), preserving_proto_field_name=True
                )
            )
        return web.json_response({"connectors": rows})

    async def connectors(request: web.Request) -> web.StreamResponse:
        if open_reads and hdrs.AUTHORIZATION not in request.headers:
            return await connectors_for(OPEN_READS_TENANT)
        return await guarded(lambda _r, identity: connectors_for(identity.tenant))(request)

    async def csrf_token(_: web.Request, identity: Identity) -> web.Response:
        return web.json_response({"token": csrf.issue(identity.caller), "header": CSRF_HEADER})

    def approval_json(approval: Approval, identity: Identity) -> dict[str, Any]:
        # The tenant's operators see the full payload they decide on; anyone else the redacted
        # copy.
        message = to_message(approval, approvals.clocks, utc_now(), full_payload=identity.operator)
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    async def list_approvals(request: web.Request, identity: Identity) -> web.Response:
        status_text = request.query.get("status", "")
        try:
            status = ApprovalStatus(status_text) if status_text else None
        except ValueError:
            raise InvalidField(
                f"status must be one of {_STATUSES}",
                violations=(FieldViolation("status", f"must be one of {_STATUSES}"),),
            ) from None
        scope = f"approvals/{status.value if status else 'all'}"
        size = page_size(_page_size(request))
        after = decode(request.query.get("page_token", ""), scope)
        rows = await approvals.list(identity.tenant, status, size + 1, after=after)
        shown, next_page_token = page(rows, size, ApprovalStore.cursor, scope)
        return web.json_response(
            {
                "approvals": [approval_json(a, identity) for a in shown],
                "next_page_token": next_page_token,
            }
        )

    async def get_approval(request: web.Request, identity: Identity) -> web.Response:
        approval_id = _approval_id(request)
        approval = await approvals.get(identity.tenant, approval_id)
        if not identity.operator and approval.requested_by != identity.caller:
            # Exactly what an unknown id gets: the answer must not tell that it exists.
            raise ApprovalNotFound.for_id(approval_id)
        return web.json_response(approval_json(approval, identity))

    async def resolve(request: web.Request, identity: Identity, grant: bool) -> web.Response:
        approval_id = _approval_id(request)
        body = await read_json_object(request, http)
        text = _text_field(body, "note" if grant else "reason")
        if not grant and not text.strip():
            raise MissingField("reason is required: say why the action must not run")

        seen: list[Approval] = []

        def found(approval: Approval) -> None:
            remember_approval(request, approval)
            seen.append(approval)

        approval = await decide(
            approvals,
            tenant=identity.tenant,
            approval_id=approval_id,
            approver=identity.caller,
            grant=grant,
            text=text,
            found=found,
        )
        before = seen[0]
        await audit.append(
            AuditEvent(
                event_type="approval_granted" if grant else "approval_denied",
                outcome=Outcome.SUCCEEDED,
                tenant=identity.tenant,
                caller=identity.caller,
                rpc_method=f"HTTP POST {request.path}",
                connector_key=before.connector_key,
                operation=before.operation,
                execution_id=before.execution_id,
                payload_digest=before.payload_digest,
                detail={"approval_id": approval_id},
            )
        )
        return web.json_response(approval_json(approval, identity))

    async def approve(request: web.Request, identity: Identity) -> web.Response:
        return await resolve(request, identity, grant=True)

    async def deny(request: web.Request, identity: Identity) -> web.Response:
        return await resolve(request, identity, grant=False)

    async def login(request: web.Request) -> web.Response:
        assert sign_in is not None
        offered = request.query.getall("token", [])
        if len(offered) != 1:
            raise LoginTokenInvalid("open the login link exactly as the gateway gave it")
        cookie = await sign_in.redeem(offered[0])
        identity = callers.session_identity(sign_in.caller)
        await audit.append(
            AuditEvent(
                event_type="session_opened",
                outcome=Outcome.SUCCEEDED,
                tenant=identity.tenant,
                caller=identity.caller,
                rpc_method=f"HTTP GET {LOGIN_PATH}",
            )
        )
        response = web.Response(status=303, headers={hdrs.LOCATION: AFTER_LOGIN_PATH})
        response.set_cookie(
            SESSION_COOKIE,
            cookie,
            max_age=int(sign_in.session_ttl_s),
            path="/",
            httponly=True,
            samesite="Strict",
            secure=secure,
        )
        return response

    middlewares = [
        *([first_middleware] if first_middleware is not None else []),
        refusal_middleware(audit, refusals),
        host_guard(hosts, exempt_paths=frozenset({HEALTHZ_PATH})),
    ]
    app = web.Application(middlewares=middlewares, client_max_size=http.max_body_bytes)
    app.router.add_get(HEALTHZ_PATH, healthz)
    app.router.add_get("/v1/connectors/health", connectors)
    app.router.add_get("/v1/csrf-token", guarded(csrf_token))
    app.router.add_get("/v1/approvals", guarded(list_approvals, operator=True))
    app.router.add_get("/v1/approvals/{approval_id}", guarded(get_approval))
    app.router.add_post(
        "/v1/approvals/{approval_id}/approve", guarded(approve, change=True, operator=True)
    )
    app.router.add_post(
        "/v1/approvals/{approval_id}/deny", guarded(deny, change=True, operator=True)
    )
    if sign_in is not None:
        app.router.add_get(LOGIN_PATH, login, allow_head=False)  # a HEAD must not spend it
    return app
