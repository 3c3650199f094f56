"""The HTTP side: liveness, the connectors' health as JSON, and the approval queue.

Reads of the board may be opened by configuration (``http.open_reads``); everything else
needs the same identity as the gRPC side (a bearer token, or the development caller header
on loopback). Changes are POSTs carrying a CSRF token bound to the caller, and are audited in
the same hash chain as gRPC calls.
"""

from __future__ import annotations

import hashlib
import hmac
import secrets
import time
from collections.abc import Awaitable, Callable
from typing import Any

from aiohttp import web
from google.protobuf import json_format

from gateway.approval_servicer import ApprovalNotifier, decide, to_message
from gateway.approvals.model import Approval, ApprovalStatus
from gateway.approvals.store import ApprovalStore
from gateway.audit.record import AuditEvent, Outcome
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.auth.authenticator import Authenticator
from gateway.clock import utc_now
from gateway.descriptors import health_entry
from gateway.errors import (
    CallerNotAllowed,
    CsrfRejected,
    GatewayError,
    MissingField,
    OperatorRequired,
)
from gateway.health_state import HealthTracker
from gateway.identity import Identity
from gateway.interceptors.audit import AuditLog
from gateway.registry import Registry

CSRF_HEADER = "X-CSRF-Token"
CSRF_TTL_S = 3600
OPEN_READS_TENANT = "default"

_HTTP_STATUS = {
    "INVALID_ARGUMENT": 400,
    "UNAUTHENTICATED": 401,
    "PERMISSION_DENIED": 403,
    "NOT_FOUND": 404,
    "FAILED_PRECONDITION": 409,
    "RESOURCE_EXHAUSTED": 429,
    "UNAVAILABLE": 503,
}


class CsrfTokens:
    """Tokens bound to one caller and an expiry, signed with a per-process secret."""

    def __init__(self) -> None:
        self._secret = secrets.token_bytes(32)

    def _mac(self, caller: str, expires: int) -> str:
        return hmac.new(self._secret, f"{caller}:{expires}".encode(), hashlib.sha256).hexdigest()

    def issue(self, caller: str) -> str:
        expires = int(time.time()) + CSRF_TTL_S
        return f"{expires}.{self._mac(caller, expires)}"

    def valid(self, caller: str, token: str) -> bool:
        expires_text, _, mac = token.partition(".")
        if not expires_text.isdigit() or int(expires_text) < time.time():
            return False
        return hmac.compare_digest(mac, self._mac(caller, int(expires_text)))


def build_app(
    *,
    registry: Registry,
    health: HealthTracker,
    serving: Callable[[], bool],
    authenticator: Authenticator,
    approvals: ApprovalStore,
    notifier: ApprovalNotifier,
    audit: AuditLog,
    refusals: RefusalLimiter,
    open_reads: bool,
) -> web.Application:
    csrf = CsrfTokens()

    def identify(request: web.Request) -> Identity:
        metadata = [(k.lower(), v) for k, v in request.headers.items()]
        return authenticator.authenticate(metadata, {})

    def refusal(error: GatewayError) -> web.Response:
        return web.json_response(
            {
                "error": {
                    "code": error.code.name,
                    "reason": error.reason,
                    "message": error.message,
                    "metadata": error.metadata,
                }
            },
            status=_HTTP_STATUS.get(error.code.name, 500),
        )

    async def audited_refusal(
        request: web.Request, error: GatewayError, caller: str, tenant: str
    ) -> web.Response:
        await audit.append(
            AuditEvent(
                event_type="request_rejected",
                outcome=Outcome.REFUSED,
                tenant=tenant,
                caller=caller,
                rpc_method=f"HTTP {request.method} {request.path}",
                status_code=error.code.name,
                reason=error.reason,
                detail=dict(error.metadata),
            )
        )
        return refusal(error)

    def guarded(
        handler: Callable[[web.Request, Identity], Awaitable[web.Response]],
        *,
        change: bool = False,
        operator: bool = False,
    ) -> Callable[[web.Request], Awaitable[web.Response]]:
        async def run(request: web.Request) -> web.Response:
            try:
                identity = identify(request)
            except GatewayError as error:
                if not refusals.admit(request.remote or "", error):
                    return refusal(error)  # over the peer's budget: counted for its summary
                return await audited_refusal(request, error, "", "")
            try:
                if operator and not identity.operator:
                    raise OperatorRequired(
                        f"caller {identity.caller!r} is not an operator",
                        metadata={"caller": identity.caller},
                    )
                if change and not csrf.valid(identity.caller, request.headers.get(CSRF_HEADER, "")):
                    raise CsrfRejected(
                        f"send the {CSRF_HEADER} header with a token from GET /v1/csrf-token"
                    )
                return await handler(request, identity)
            except GatewayError as error:
                return await audited_refusal(request, error, identity.caller, identity.tenant)

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

    async def connectors(request: web.Request) -> web.Response:
        if open_reads and "authorization" not in request.headers:
            return await connectors_for(OPEN_READS_TENANT)
        return await guarded(lambda _r, identity: connectors_for(identity.tenant))(request)

    async def csrf_token(_: web.Request, identity: Identity) -> web.Response:
        return web.json_response({"token": csrf.issue(identity.caller), "header": CSRF_HEADER})

    def approval_json(approval: Any) -> dict[str, Any]:
        message = to_message(approval, approvals.clocks, utc_now())
        return json_format.MessageToDict(message, preserving_proto_field_name=True)

    async def list_approvals(request: web.Request, identity: Identity) -> web.Response:
        status_text = request.query.get("status")
        status = ApprovalStatus(status_text) if status_text else None
        listed = await approvals.list(identity.tenant, status, 100)
        return web.json_response({"approvals": [approval_json(a) for a in listed]})

    async def get_approval(request: web.Request, identity: Identity) -> web.Response:
        approval = await approvals.get(identity.tenant, request.match_info["approval_id"])
        if not identity.operator and approval.requested_by != identity.caller:
            raise CallerNotAllowed("not your approval")
        return web.json_response(approval_json(approval))

    async def resolve(request: web.Request, identity: Identity, grant: bool) -> web.Response:
        approval_id = request.match_info["approval_id"]
        body = await request.json() if request.can_read_body else {}
        text = str(body.get("note" if grant else "reason", "")) if isinstance(body, dict) else ""
        if not grant and not text.strip():
            raise MissingField("reason is required: say why the action must not run")
        seen: list[Approval] = []
        approval = await decide(
            approvals,
            notifier,
            tenant=identity.tenant,
            approval_id=approval_id,
            approver=identity.caller,
            grant=grant,
            text=text,
            found=seen.append,
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
        return web.json_response(approval_json(approval))

    async def approve(request: web.Request, identity: Identity) -> web.Response:
        return await resolve(request, identity, grant=True)

    async def deny(request: web.Request, identity: Identity) -> web.Response:
        return await resolve(request, identity, grant=False)

    app = web.Application()
    app.router.add_get("/healthz", healthz)
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
    return app
