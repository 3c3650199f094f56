"""Refusals before a request becomes a governed call, and the one answer every refusal gets.

aiohttp's own refusals (no such route, method not allowed, body too large), a body too slow
to arrive and a spent sign-in link are turned into the gateway's reasons here, answered with
the JSON of ``gateway.status`` and audited. Refusals inside the chain are audited by its audit
layer and only answered here. Anything unexpected becomes INTERNAL with a trace id to quote;
the details go to the log only.
"""

from __future__ import annotations

import json
import logging
import secrets
from http import HTTPStatus

from aiohttp import web
from aiohttp.typedefs import Handler, Middleware

from gateway.audit.events import refusal_event
from gateway.audit.record import AuditLog
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.errors import (
    BodyTimeout,
    GatewayError,
    Internal,
    MalformedRequest,
    MethodNotAllowed,
    PayloadTooLarge,
    RouteNotFound,
)
from gateway.status import http_status, printable, refusal_body, refusal_headers

log = logging.getLogger(__name__)


def refusal_response(error: GatewayError) -> web.Response:
    """The answer to a refused request: the status, the JSON body and its headers."""
    response = web.json_response(
        refusal_body(error), status=http_status(error), headers=refusal_headers(error)
    )
    if isinstance(error, BodyTimeout):
        response.force_close()  # what is left of the body cannot be told from a request
    return response


def route_of(request: web.Request) -> str:
    """How a request is named in its audit rows: method and path as sent, printable."""
    return printable(f"HTTP {request.method} {request.rel_url.raw_path}", 300)


def _from_aiohttp(request: web.Request, error: web.HTTPException) -> GatewayError | None:
    """The gateway's reason for a refusal by aiohttp; None for its server errors."""
    if isinstance(error, web.HTTPNotFound):
        return RouteNotFound(f"no such route: {printable(request.path, 100)}")
    if isinstance(error, web.HTTPMethodNotAllowed):
        allowed = ", ".join(sorted(error.allowed_methods))
        return MethodNotAllowed(
            f"{printable(request.method, 20)} is not allowed here; use {allowed}",
            metadata={"allowed": allowed},
        )
    if isinstance(error, web.HTTPRequestEntityTooLarge):
        return PayloadTooLarge("the request body is too large (http.max_body_bytes)")
    if error.status < 500:
        return MalformedRequest(f"the request cannot be served: {error.reason}")
    return None


def internal(request: web.Request) -> Internal:
    """INTERNAL with a trace id for the exception being handled, whose details are logged."""
    trace_id = secrets.token_hex(16)
    log.exception(
        "unexpected error in HTTP %s %s (trace %s)",
        printable(request.method, 20),
        printable(request.rel_url.raw_path),
        trace_id,
    )
    return Internal(
        f"internal error; quote trace id {trace_id} to the operators",
        metadata={"trace_id": trace_id},
    )


def refusal_middleware(audit: AuditLog, refusals: RefusalLimiter) -> Middleware:
    """Middleware: answers and audits every refusal raised outside the chain. These come
    before anyone proved who they are, so each gets a row within its peer's budget, and beyond
    it is counted into the peer's summary row (the chain shares the budget)."""

    @web.middleware
    async def answer(request: web.Request, handler: Handler) -> web.StreamResponse:
        try:
            return await handler(request)
        except web.HTTPException as aiohttp_error:
            if aiohttp_error.status < 400:
                raise
            error = _from_aiohttp(request, aiohttp_error) or internal(request)
        except GatewayError as gateway_error:
            error = gateway_error
        except Exception:
            error = internal(request)
        if refusals.admit(request.remote or "", error):
            printed = {printable(k, 60): printable(v) for k, v in error.metadata.items()}
            await audit.append(refusal_event(route_of(request), error, printed))
        return refusal_response(error)

    return answer


def raw_refusal(error: GatewayError) -> bytes:
    """A complete HTTP/1.1 response refusing a connection before any request was read."""
    body = json.dumps(refusal_body(error)).encode()
    status = http_status(error)
    head = [
        f"HTTP/1.1 {status} {HTTPStatus(status).phrase}",
        "Content-Type: application/json; charset=utf-8",
        f"Content-Length: {len(body)}",
        *(f"{name}: {value}" for name, value in refusal_headers(error).items()),
        "Connection: close",
    ]
    return ("\r\n".join(head) + "\r\n\r\n").encode("ascii") + body
