"""The HTTP face: the approval queue, the governance board and operators' switches as JSON,
and the tenant's figures for Prometheus (``/metrics``), on the same chain.

Each route names a method rule. Its request message is built from the path, the query and
the JSON body, and runs through the same layers as a gRPC call (telemetry, status mapping,
audit, authentication, validation, deadline, the operator check and policy) to the same
servicer method; a refusal leaves the chain as a ``GatewayError``, already audited, and is
answered with the JSON of ``gateway.status``. Only what no gRPC caller has stays outside the
chain: the Host and Origin checks, reading the body within its bounds, unknown routes, the
development sign-in link, and liveness (``gateway.http``).

Changes are POSTs carrying a CSRF token bound to the caller (a browser's form cannot read
it). Reads of the board and of the figures may be opened by configuration
(``http_open_reads``), and the board's in development mode (loopback only) to a browser that
has not signed in: a request without an Authorization header then reads them for the default
tenant without a caller, and the board shows no operator's or error's text.
"""

from __future__ import annotations

import asyncio
import functools
import json
import time
from collections.abc import Awaitable, Callable, Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from typing import Any

from aiohttp import hdrs, web
from aiohttp.typedefs import Middleware
from google.api import httpbody_pb2
from google.protobuf import empty_pb2, json_format, struct_pb2
from google.protobuf.message import Message

from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.api.approval_service import status_number
from gateway.approvals.model import ApprovalStatus
from gateway.audit.events import session_opened
from gateway.audit.record import AuditLog
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.auth.authenticator import AUTHORIZATION, DEV_CALLER_HEADER, Authenticator
from gateway.auth.mtls import peer_context
from gateway.call import Admitted, Call, CallFacts, Context, Credentials, Deadline, admit
from gateway.dictionary.web import (
    DICTIONARY_PATH,
    METRIC_PATH,
    compute_metric_request,
    list_metrics_request,
    render_computed,
    render_listing,
)
from gateway.errors import (
    BodyTimeout,
    CsrfRejected,
    FieldViolation,
    GatewayError,
    InvalidField,
    LoginTokenInvalid,
    MalformedRequest,
    PayloadTooLarge,
)
from gateway.field_rules import APPROVAL_ID, NAME, check_format
from gateway.http.board_page import PAGE_PATH, add_page
from gateway.http.hosts import AllowedHosts, host_guard
from gateway.http.login import LOGIN_PATH, SESSION_COOKIE, SignIn
from gateway.http.refusals import refusal_middleware, refusal_response, route_of
from gateway.http.signed import SignedTokens
from gateway.identity import Identity
from gateway.interceptors.base import InFlight, Layer, run_chain
from gateway.methods import (
    APPROVE_APPROVAL,
    COMPUTE_METRIC,
    CSRF_TOKEN,
    DENY_APPROVAL,
    DISABLE_CONNECTOR,
    ENABLE_CONNECTOR,
    GET_APPROVAL,
    HEALTH,
    LIST_APPROVALS,
    LIST_METRICS,
    PROMETHEUS_METRICS,
    MethodRule,
)
from gateway.paging import MAX_PAGE_SIZE
from gateway.settings import HttpSettings
from gateway.store.sqlite import UnitOfWork

CSRF_HEADER = "X-CSRF-Token"
CSRF_TTL_S = 3600
OPEN_READS_TENANT = "default"
HEALTHZ_PATH = "/healthz"  # answers probes addressed by IP, whatever the host names
BOARD_PATH = "/api/v1/connectors/governance"
HEALTH_PATH = "/v1/connectors/health"  # the board's earlier path, an alias of BOARD_PATH
SWITCH_PATH = "/api/v1/connectors/{connector_key}"  # + /disable, /enable
METRICS_PATH = "/metrics"
AFTER_LOGIN_PATH = PAGE_PATH  # a browser signed in lands on the board
TRACE_HEADERS = ("traceparent", "tracestate")  # W3C trace context, continued like gRPC's
_STATUSES = ", ".join(status.value for status in ApprovalStatus)

# A servicer method, as the chain calls it: the admitted call and the protocol's context.
Serve = Callable[[Admitted[Any], Context], Awaitable[Message]]
# A tenant's figures in the format an Accept header asks for, and its content type.
Scrape = Callable[[str, str], Awaitable[tuple[bytes, str]]]


@dataclass(frozen=True)
class HttpContext:
    """What the layers need of an HTTP request."""

    remote: str
    csrf_tokens: tuple[str, ...]
    accept: str = ""  # the formats the client reads (a scrape's)
    certificate: Mapping[str, Iterable[bytes]] = field(default_factory=dict)

    def time_remaining(self) -> float | None:
        return None  # HTTP callers send no deadline: the configured maximum applies

    def peer(self) -> str:
        return self.remote

    def auth_context(self) -> Mapping[str, Iterable[bytes]]:
        return self.certificate  # a verified client certificate, as gRPC's auth context says


def client_certificate(request: web.Request) -> dict[str, list[bytes]]:
    """What a client certificate verified by the TLS handshake says, if one was sent."""
    transport = request.transport
    sslobj = transport.get_extra_info("ssl_object") if transport is not None else None
    return peer_context(sslobj.getpeercert() if sslobj is not None else None)


def from_browser(request: web.Request) -> bool:
    """Whether a browser sent the request: browsers add ``Origin``, ``Sec-Fetch-*`` or
    ``Cookie``, scripts do not. A browser is never the development caller, since any web page
    can make one send requests to loopback."""
    return any(
        name in ("origin", "cookie") or name.startswith("sec-fetch-")
        for name in (key.lower() for key in request.headers)
    )


def credentials(request: web.Request, sign_in: SignIn | None) -> Credentials:
    """What the request presents, in the shape the authentication layer reads for gRPC: the
    Authorization header, the development caller header (never from a browser), the trace
    context, and a browser's sign-in cookie (development mode)."""
    browser = from_browser(request)
    names = (AUTHORIZATION, *TRACE_HEADERS, *(() if browser else (DEV_CALLER_HEADER,)))
    metadata = tuple((name, value) for name in names for value in request.headers.getall(name, []))
    session = None
    if browser and sign_in is not None:
        cookie = request.cookies.get(SESSION_COOKIE)
        if cookie is not None:
            session = functools.partial(sign_in.session_caller, cookie)
    return Credentials(metadata, browser=browser, session=session)


async def read_body(request: web.Request, http: HttpSettings) -> bytes:
    """The request's body, read within ``http.body_timeout_s`` and ``http.max_body_bytes``."""
    if request.content_length is not None and request.content_length > http.max_body_bytes:
        raise _too_large(http)
    try:
        async with asyncio.timeout(http.body_timeout_s):
            return await request.read()
    except TimeoutError:
        raise BodyTimeout(
            f"the request body did not arrive within {http.body_timeout_s:g} s "
            "(http.body_timeout_s)"
        ) from None
    except web.HTTPRequestEntityTooLarge:
        raise _too_large(http) from None


def _too_large(http: HttpSettings) -> PayloadTooLarge:
    return PayloadTooLarge(
        f"the request body is larger than {http.max_body_bytes} bytes (http.max_body_bytes)",
        metadata={"limit_bytes": str(http.max_body_bytes)},
    )


# Building request messages. The chain's validation layer checks them as it checks gRPC's.


def _json_object(raw: bytes) -> dict[str, Any]:
    """The body as a JSON object ({} when empty)."""
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


def _text_field(body: dict[str, Any], name: str) -> str:
    value = body.get(name, "")
    # JSON may escape a lone surrogate ("\ud800"), which no UTF-8 store can hold.
    if not isinstance(value, str) or not _is_unicode_text(value):
        raise InvalidField(
            f"{name} must be a string of Unicode text",
            violations=(FieldViolation(name, "must be a string of Unicode text"),),
        )
    return value


def _is_unicode_text(value: str) -> bool:
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        return False
    return True


def _approval_id(request: web.Request) -> str:
    """The approval id in the path, in the format the gateway hands out."""
    return check_format("approval_id", request.match_info["approval_id"], APPROVAL_ID)


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


def _status(request: web.Request) -> ApprovalStatus | None:
    text = request.query.get("status", "")
    try:
        return ApprovalStatus(text) if text else None
    except ValueError:
        raise InvalidField(
            f"status must be one of {_STATUSES}",
            violations=(FieldViolation("status", f"must be one of {_STATUSES}"),),
        ) from None


def _list_approvals(request: web.Request, _: bytes) -> Message:
    return apb.ListApprovalsRequest(
        status=status_number(_status(request)),
        page_size=_page_size(request),
        page_token=request.query.get("page_token", ""),
    )


def _get_approval(request: web.Request, _: bytes) -> Message:
    return apb.GetApprovalRequest(approval_id=_approval_id(request))


def _connector_key(request: web.Request) -> str:
    return check_format("connector_key", request.match_info["connector_key"], NAME)


def _disable(request: web.Request, raw: bytes) -> Message:
    key = _connector_key(request)
    return pb.DisableConnectorRequest(
        connector_key=key, reason=_text_field(_json_object(raw), "reason")
    )


def _enable(request: web.Request, raw: bytes) -> Message:
    key = _connector_key(request)
    return pb.EnableConnectorRequest(
        connector_key=key, reason=_text_field(_json_object(raw), "reason")
    )


def _approve(request: web.Request, raw: bytes) -> Message:
    approval_id = _approval_id(request)
    return apb.ApproveApprovalRequest(
        approval_id=approval_id, note=_text_field(_json_object(raw), "note")
    )


def _deny(request: web.Request, raw: bytes) -> Message:
    approval_id = _approval_id(request)
    return apb.DenyApprovalRequest(
        approval_id=approval_id, reason=_text_field(_json_object(raw), "reason")
    )


# Rendering answers: the messages' JSON mapping, field names as in the API.


def _json(message: Message) -> dict[str, Any]:
    return json_format.MessageToDict(message, preserving_proto_field_name=True)


def _approval(response: Any) -> dict[str, Any]:
    return _json(response.approval)


def _approvals(response: Any) -> dict[str, Any]:
    return {
        "approvals": [_json(approval) for approval in response.approvals],
        "next_page_token": response.next_page_token,
    }


_BOARD_TIMES = ("last_success_at", "last_attempt_at", "disabled_at")
# Text only the tenant's callers see: an error's summary, an operator's reason and name.
_CALLERS_ONLY = ("last_error", "disabled_reason", "disabled_by")


def _board_entry(entry: Message) -> dict[str, Any]:
    """One connector's entry with every field, a time never set as null."""
    shown = json_format.MessageToDict(
        entry, preserving_proto_field_name=True, always_print_fields_with_no_presence=True
    )
    for name in _BOARD_TIMES:
        shown.setdefault(name, None)
    return shown


def _board(response: Any) -> dict[str, Any]:
    entries = [_board_entry(entry) for entry in response.connectors]
    return {
        "connectors": entries,
        "total": len(entries),
        "connector_health": render_computed(response.connector_health),
    }


def _for_anyone(board: dict[str, Any]) -> dict[str, Any]:
    """The board as a read without a caller shows it: no error's or operator's text."""
    for entry in board.get("connectors", ()):
        entry.update(dict.fromkeys(_CALLERS_ONLY, ""))
    return board


def _switched(response: Any) -> dict[str, Any]:
    return {
        "connector": _board_entry(response.connector),
        "audit_event_id": response.audit_event_id,
    }


def _body(response: Any) -> web.Response:
    """An answer that is not JSON, as the servicer made it."""
    return web.Response(body=response.data, headers={hdrs.CONTENT_TYPE: response.content_type})


@dataclass(frozen=True)
class Route:
    method: str
    path: str
    rule: MethodRule
    parse: Callable[[web.Request, bytes], Message]
    render: Callable[[Any], dict[str, Any] | web.Response]  # a dict is answered as JSON
    change: bool = False  # changes state: needs the caller's CSRF token
    open_read: bool = False  # anyone may read it for the default tenant (http_open_reads)


ROUTES = (
    Route("GET", BOARD_PATH, HEALTH, lambda _r, _b: pb.HealthRequest(), _board, open_read=True),
    Route("GET", HEALTH_PATH, HEALTH, lambda _r, _b: pb.HealthRequest(), _board, open_read=True),
    Route("POST", SWITCH_PATH + "/disable", DISABLE_CONNECTOR, _disable, _switched, change=True),
    Route("POST", SWITCH_PATH + "/enable", ENABLE_CONNECTOR, _enable, _switched, change=True),
    Route(
        "GET",
        METRICS_PATH,
        PROMETHEUS_METRICS,
        lambda _r, _b: empty_pb2.Empty(),
        _body,
        open_read=True,
    ),
    Route("GET", "/v1/csrf-token", CSRF_TOKEN, lambda _r, _b: empty_pb2.Empty(), _json),
    Route("GET", "/v1/approvals", LIST_APPROVALS, _list_approvals, _approvals),
    Route("GET", "/v1/approvals/{approval_id}", GET_APPROVAL, _get_approval, _approval),
    Route(
        "POST",
        "/v1/approvals/{approval_id}/approve",
        APPROVE_APPROVAL,
        _approve,
        _approval,
        change=True,
    ),
    Route("POST", "/v1/approvals/{approval_id}/deny", DENY_APPROVAL, _deny, _approval, change=True),
    # Before the metric route, which would otherwise take "dictionary" for a metric's name.
    Route("GET", DICTIONARY_PATH, LIST_METRICS, list_metrics_request, render_listing),
    Route("GET", METRIC_PATH, COMPUTE_METRIC, compute_metric_request, render_computed),
)


class _Unaudited:
    """The audit handle of an open read, which acts on nothing."""

    requested_written = False

    def __init__(self) -> None:
        self.unit = UnitOfWork()

    async def requested(self, *, durable: bool = True) -> None:
        raise RuntimeError("an open read never calls a vendor")


class HttpFace:
    """Serves the routes through the chain to the servicers (by service name)."""

    def __init__(
        self,
        *,
        layers: Sequence[Layer],
        servicers: Mapping[str, object],
        sign_in: SignIn | None,
        http: HttpSettings,
        open_reads: bool,
        max_call_s: float,
        scrape: Scrape,
        in_flight: InFlight | None = None,
    ) -> None:
        self._layers = tuple(layers)
        self._in_flight = in_flight or InFlight()
        self._servicers = servicers
        self._scrape = scrape
        self._sign_in = sign_in
        self._http = http
        self._open_reads = open_reads
        self._max_call_s = max_call_s
        self._csrf = SignedTokens("csrf", CSRF_TTL_S)

    def _serve(self, rule: MethodRule) -> Serve:
        if rule is CSRF_TOKEN:
            return self._csrf_token
        if rule is PROMETHEUS_METRICS:
            return self._metrics
        serve: Serve = getattr(self._servicers[rule.service], rule.name)
        return serve

    async def _csrf_token(self, call: Admitted[Any], _: Context) -> Message:
        token = self._csrf.issue(call.identity.caller)
        return struct_pb2.Struct(
            fields={
                "token": struct_pb2.Value(string_value=token),
                "header": struct_pb2.Value(string_value=CSRF_HEADER),
            }
        )

    async def _metrics(self, call: Admitted[Any], ctx: Context) -> Message:
        accept = ctx.accept if isinstance(ctx, HttpContext) else ""
        data, content_type = await self._scrape(call.tenant, accept)
        body: Message = httpbody_pb2.HttpBody(content_type=content_type, data=data)
        return body

    def handler(self, route: Route) -> Callable[[web.Request], Awaitable[web.StreamResponse]]:
        serve = self._serve(route.rule)

        async def endpoint(call: Call, ctx: Context) -> Message:
            admitted = admit(call)
            if route.change:
                self._check_csrf(admitted.identity, ctx)
            return await serve(admitted, ctx)

        chain = run_chain(self._layers, endpoint, self._in_flight)

        async def handle(request: web.Request) -> web.StreamResponse:
            if self._without_caller(route, request):
                answer = await self._open_read(route, serve, request)
                return _answer(route, answer, for_anyone=True)
            raw = await read_body(request, self._http) if route.method == "POST" else b""
            call = Call(
                rule=route.rule,
                raw=raw,
                credentials=credentials(request, self._sign_in),
                parse=lambda body: route.parse(request, body),
                facts=CallFacts(),
                received_at=time.monotonic(),
                route=route_of(request),
                protocol="http",
            )
            context = HttpContext(
                request.remote or "",
                tuple(request.headers.getall(CSRF_HEADER, [])),
                request.headers.get(hdrs.ACCEPT, ""),
                client_certificate(request),
            )
            try:
                response = await chain(call, context)
            except GatewayError as error:  # audited by the chain; only answered here
                return refusal_response(error)
            return _answer(route, response)

        return handle

    def _without_caller(self, route: Route, request: web.Request) -> bool:
        """Whether an open read is read without a caller: with no credentials, when open
        reads are on, or (the board) in development mode (loopback only) from a browser not
        signed in."""
        if not route.open_read or hdrs.AUTHORIZATION in request.headers:
            return False
        if client_certificate(request):
            return False  # the certificate names a caller, who reads as themselves
        if self._open_reads:
            return True
        signed_in = SESSION_COOKIE in request.cookies
        development = self._sign_in is not None
        return route.rule is HEALTH and development and from_browser(request) and not signed_in

    def _check_csrf(self, identity: Identity, ctx: Context) -> None:
        tokens = ctx.csrf_tokens if isinstance(ctx, HttpContext) else ()
        if not (len(tokens) == 1 and self._csrf.valid(identity.caller, tokens[0])):
            raise CsrfRejected(
                f"send the {CSRF_HEADER} header with a token from GET /v1/csrf-token"
            )

    async def _open_read(self, route: Route, serve: Serve, request: web.Request) -> Message:
        """The board's health or the figures, for the default tenant, for anyone
        (``http_open_reads``)."""
        call = Admitted(
            route.rule,
            route.parse(request, b""),
            Identity(caller="", tenant=OPEN_READS_TENANT),
            Deadline(time.monotonic() + self._max_call_s),
            _Unaudited(),
            CallFacts(tenant=OPEN_READS_TENANT),
        )
        context = HttpContext(request.remote or "", (), request.headers.get(hdrs.ACCEPT, ""))
        return await serve(call, context)


def _answer(route: Route, response: Message, *, for_anyone: bool = False) -> web.Response:
    rendered = route.render(response)
    if isinstance(rendered, web.Response):
        return rendered
    return web.json_response(_for_anyone(rendered) if for_anyone else rendered)


def build_app(
    *,
    face: HttpFace,
    serving: Callable[[], bool],
    authenticator: Authenticator,
    audit: AuditLog,
    refusals: RefusalLimiter,
    hosts: AllowedHosts,
    http: HttpSettings,
    sign_in: SignIn | None,
    secure: bool,
    first_middleware: Middleware | None = None,
) -> web.Application:
    async def healthz(_: web.Request) -> web.Response:
        if serving():
            return web.Response(text="SERVING\n")
        return web.Response(status=503, text="NOT_SERVING\n")

    async def login(request: web.Request, sign_in: SignIn) -> web.Response:
        offered = request.query.getall("token", [])
        if len(offered) != 1:
            raise LoginTokenInvalid("open the login link exactly as the gateway gave it")
        cookie = await sign_in.redeem(offered[0])
        identity = authenticator.policy.identity_for(sign_in.caller, None)
        await audit.append(session_opened(identity, f"HTTP GET {LOGIN_PATH}"))
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
    add_page(app)
    for route in ROUTES:
        if route.method == "GET":
            app.router.add_get(route.path, face.handler(route))
        else:
            app.router.add_route(route.method, route.path, face.handler(route))
    if sign_in is not None:
        signed_in = sign_in

        async def login_here(request: web.Request) -> web.Response:
            return await login(request, signed_in)

        # A HEAD must not spend the link.
        app.router.add_get(LOGIN_PATH, login_here, allow_head=False)
    return app
