"""The base of an HTTP vendor's sandbox: an aiohttp app on loopback with one account per
tenant, failure injection, and a record of what it acted on.

A vendor's sandbox (``adapters/<key>/sandbox.py``) subclasses ``HttpSandbox``: it adds the
routes its adapter calls (``add_routes``), says how the vendor's account model points at the
sandbox (``account``), and, when the vendor's requests carry their credential otherwise than
as a bearer token, how to read it (``credential_of``). Its handlers read the caller's tenant
(``tenant_of``), keep the vendor's objects per tenant (``objects``), answer errors in the
vendor's shape (``error``, ``error_body``; ``error_for`` where some paths answer in another
shape, such as a token endpoint) and record what they acted on (``record``), which
``SandboxService.ShowSandbox`` shows to the tenant's operators. Both are bounded: the newest
``MAX_OBJECTS`` objects of each kind and the newest ``MAX_RECEIVED`` records per tenant.

Every request passes one middleware before its handler:

* its credential names its tenant; an unknown one is answered 401 and nothing is acted on
  (``open_paths``, such as a token endpoint, need none: ``issue`` hands out a credential of
  a tenant there);
* a fault configured for the connector (``sandbox.fail.<key>``) that covers the request
  (``at``: ``"POST /v1/things"``, a path prefix where ``*`` stands for one whole segment, or
  empty for every request) either answers
  its ``status`` without running the handler (nothing is acted on; 429 says ``Retry-After:
  1``), or, with ``drop``, runs the handler (the sandbox acts) and then resets the connection
  instead of answering, so the gateway cannot learn the outcome.
"""

from __future__ import annotations

import contextlib
import secrets
import socket
import struct
from collections import OrderedDict, deque
from collections.abc import Awaitable, Callable
from typing import Any, ClassVar, Generic, TypeVar

from aiohttp import web
from pydantic import BaseModel

from gateway.sandbox import MAX_RECEIVED, FaultSwitch, SandboxFault

AccountT = TypeVar("AccountT", bound=BaseModel)
HOST = "127.0.0.1"
SHUTDOWN_TIMEOUT_S = 1.0  # requests still running when the sandbox stops
TENANT = web.RequestKey("sandbox_tenant", str)
_METHODS = frozenset({"GET", "HEAD", "POST", "PUT", "PATCH", "DELETE"})

Handler = Callable[[web.Request], Awaitable[web.StreamResponse]]
# What a sandbox keeps of one tenant's objects of one kind: the newest. A sandbox may serve a
# development machine for days; an older object is gone, as one the vendor deleted.
MAX_OBJECTS = 10_000


class NewestObjects(OrderedDict[str, dict[str, Any]]):
    """A tenant's objects of one kind by id, in the order they were created: the newest
    ``MAX_OBJECTS`` of them."""

    def __setitem__(self, key: str, value: dict[str, Any]) -> None:
        super().__setitem__(key, value)
        while len(self) > MAX_OBJECTS:
            self.popitem(last=False)


def reset_connection(request: web.BaseRequest) -> None:
    """Closes the connection with a TCP reset, as a vendor that died mid-answer would."""
    transport = request.transport
    if transport is None:
        return
    sock = transport.get_extra_info("socket")
    if sock is not None:
        with contextlib.suppress(OSError):
            sock.setsockopt(socket.SOL_SOCKET, socket.SO_LINGER, struct.pack("ii", 1, 0))
    transport.abort()


class HttpSandbox(Generic[AccountT]):
    """Satisfies ``gateway.sandbox.VendorSandbox`` once a subclass says what the vendor is."""

    key: ClassVar[str]  # the connector's key, as in ``sandbox.fail.<key>``
    open_paths: ClassVar[frozenset[str]] = frozenset()  # paths that need no credential

    def __init__(self, fault: SandboxFault | None = None) -> None:
        self._fault = FaultSwitch(fault)
        self._method, self._prefix = self._place(fault.at if fault is not None else "")
        self._credentials: dict[str, str] = {}  # tenant -> its account's credential
        self._tenants: dict[str, str] = {}  # every credential handed out -> its tenant
        self._objects: dict[tuple[str, str], NewestObjects] = {}
        self._received: dict[str, deque[dict[str, Any]]] = {}
        self._runner: web.AppRunner | None = None
        self.base_url = ""

    # --- what a vendor's sandbox says -------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        """Adds the routes of the vendor's API that the adapter calls."""
        raise NotImplementedError

    def account(self, tenant: str, base_url: str, credential: str) -> AccountT:
        """The vendor's account model pointing at ``base_url`` with ``credential``."""
        raise NotImplementedError

    def credential_of(self, request: web.Request) -> str | None:
        """The credential a request presents: a bearer token unless the vendor says other."""
        scheme, _, token = request.headers.get("Authorization", "").partition(" ")
        return token.strip() if scheme.lower() == "bearer" and token.strip() else None

    def new_credential(self, tenant: str) -> str:
        """A fresh credential (a vendor with a key format of its own overrides it)."""
        return secrets.token_urlsafe(24)

    def error_body(self, status: int, code: str, message: str) -> Any:
        """An error answer in the vendor's shape."""
        return {"error": {"code": code, "message": message}}

    def error_for(self, request: web.Request, status: int, code: str, message: str) -> web.Response:
        """The middleware's answer to ``request`` when it refuses the credential (``code``
        ``"unauthorized"``) or fails it on purpose (``"sandbox_fault"``): ``error`` unless the
        vendor answers some of its paths in another shape (a token endpoint's OAuth errors)."""
        return self.error(status, code, message)

    # --- for the routes' handlers -----------------------------------------------------------

    @staticmethod
    def tenant_of(request: web.Request) -> str:
        """The tenant whose credential the request presented ("" under an open path)."""
        tenant: str = request.get(TENANT, "")
        return tenant

    def issue(self, tenant: str) -> str:
        """A new credential of ``tenant`` (an access token a token endpoint hands out)."""
        credential = self.new_credential(tenant)
        self._tenants[credential] = tenant
        return credential

    def objects(self, tenant: str, kind: str) -> dict[str, dict[str, Any]]:
        """The tenant's objects of one kind (``"payment_intent"``), by id: the newest
        ``MAX_OBJECTS``."""
        found = self._objects.get((tenant, kind))
        if found is None:
            found = self._objects[tenant, kind] = NewestObjects()
        return found

    @staticmethod
    def new_id(prefix: str) -> str:
        return f"{prefix}_{secrets.token_hex(8)}"

    def record(self, tenant: str, entry: dict[str, Any]) -> None:
        """Keeps ``entry`` (JSON values only) as something the sandbox acted on."""
        self._received.setdefault(tenant, deque(maxlen=MAX_RECEIVED)).append(entry)

    def error(self, status: int, code: str, message: str) -> web.Response:
        headers = {"Retry-After": "1"} if status == 429 else None
        return web.json_response(
            self.error_body(status, code, message), status=status, headers=headers
        )

    # --- VendorSandbox ----------------------------------------------------------------------

    async def start(self) -> None:
        app = web.Application(middlewares=[self._gate])
        self.add_routes(app)
        self._runner = web.AppRunner(
            app, access_log=None, shutdown_timeout=SHUTDOWN_TIMEOUT_S, handler_cancellation=True
        )
        await self._runner.setup()
        await web.TCPSite(self._runner, HOST, 0).start()
        host, port = self._runner.addresses[0][:2]
        self.base_url = f"http://{host}:{port}"

    def account_for(self, tenant: str) -> AccountT:
        credential = self._credentials.get(tenant)
        if credential is None:
            credential = self._credentials[tenant] = self.issue(tenant)
        return self.account(tenant, self.base_url, credential)

    def received(self, tenant: str) -> list[dict[str, Any]]:
        return list(self._received.get(tenant, ()))

    async def stop(self) -> None:
        if self._runner is not None:
            runner, self._runner = self._runner, None
            await runner.cleanup()

    # --- every request ----------------------------------------------------------------------

    def _place(self, at: str) -> tuple[str | None, str]:
        method, _, path = at.rpartition(" ")
        if at and (not path.startswith("/") or (method and method not in _METHODS)):
            raise ValueError(
                f"sandbox.fail.{self.key}.at must be a path prefix such as /v1/things "
                "(a * stands for one whole segment: /v1/accounts/*/calls), optionally after "
                f"a method (POST /v1/things), or empty (got {at!r})"
            )
        return method or None, path

    def _covers(self, request: web.Request) -> bool:
        return (self._method is None or request.method == self._method) and path_under(
            request.path, self._prefix
        )

    @web.middleware
    async def _gate(self, request: web.Request, handler: Handler) -> web.StreamResponse:
        tenant = self._tenants.get(self.credential_of(request) or "")
        if tenant is not None:
            request[TENANT] = tenant
        elif request.path not in self.open_paths:
            return self.error_for(
                request, 401, "unauthorized", "the sandbox does not know this credential"
            )
        fault = self._fault.take() if self._covers(request) else None
        if fault is None:
            return await handler(request)
        if fault.status is not None:
            await request.read()
            return self.error_for(
                request,
                fault.status,
                "sandbox_fault",
                f"failure injected by sandbox.fail.{self.key}",
            )
        response = await handler(request)  # the sandbox acts; the answer never leaves
        reset_connection(request)
        return response


def path_under(path: str, prefix: str) -> bool:
    """Whether ``path`` starts with ``prefix``, where a ``*`` segment of the prefix stands for
    any one segment (a tenant's own account id, which an operator does not know)."""
    if "*" not in prefix:
        return path.startswith(prefix)
    wanted, parts = prefix.split("/"), path.split("/")
    if len(parts) < len(wanted):
        return False
    for index, (want, part) in enumerate(zip(wanted, parts, strict=False)):
        last = index == len(wanted) - 1
        if want == "*":
            if not part:
                return False
        elif last:
            if not part.startswith(want):
                return False
        elif want != part:
            return False
    return True
