"""A small Stripe on 127.0.0.1 that keeps state and honours ``Idempotency-Key`` as Stripe does.

It serves the few endpoints the connector calls, with Stripe's error body
(``{"error": {"type", "code", "message", ...}}``), and records each side effect it performs
(``effects``), so a test can tell a request that acted from one answered from the idempotency
store:

* a POST with a key seen before, for the same method, path and parameters, gets the stored
  answer again (status and body) with ``Idempotent-Replayed: true`` and acts on nothing;
* the same key with other parameters, or another path, gets 400 ``idempotency_error``;
* a key whose first request is still running (``hold``) gets 409 ``idempotency_key_in_use``.

``fail_next(status, body)`` answers the next request with an error instead. Everything else
is stateful: PaymentIntents start as ``requires_payment_method``; ``settle(intent)`` marks one
succeeded, as a confirmation and capture would.
"""

from __future__ import annotations

import asyncio
import itertools
from collections import deque
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass, field
from typing import Any
from urllib.parse import parse_qsl

from aiohttp import web

CANCELABLE = {
    "requires_payment_method",
    "requires_confirmation",
    "requires_action",
    "requires_capture",
    "processing",
}


def stripe_error(kind: str, message: str, code: str | None = None, **more: str) -> dict[str, Any]:
    error: dict[str, Any] = {"type": kind, "message": message, **more}
    if code is not None:
        error["code"] = code
    return {"error": error}


def _metadata(form: dict[str, str]) -> dict[str, str]:
    return {k[len("metadata[") : -1]: v for k, v in form.items() if k.startswith("metadata[")}


@dataclass(frozen=True)
class _Failure:
    status: int
    body: Any
    headers: dict[str, str]


@dataclass
class _Stored:
    fingerprint: tuple[str, str, tuple[tuple[str, str], ...]]
    status: int
    body: dict[str, Any]


@dataclass
class FakeStripe:
    api_key: str
    url: str = ""
    effects: list[tuple[str, str]] = field(default_factory=list)  # (what, object id)
    replays: int = 0
    customers: dict[str, dict[str, Any]] = field(default_factory=dict)
    intents: dict[str, dict[str, Any]] = field(default_factory=dict)
    refunds: dict[str, dict[str, Any]] = field(default_factory=dict)
    links: dict[str, dict[str, Any]] = field(default_factory=dict)
    _keys: dict[str, _Stored] = field(default_factory=dict)
    _running: set[str] = field(default_factory=set)
    _failures: deque[_Failure] = field(default_factory=deque)
    _ids: itertools.count[int] = field(default_factory=lambda: itertools.count(1))
    _hold: asyncio.Event | None = None
    _holding: bool = False
    held: asyncio.Event = field(default_factory=asyncio.Event)

    # --- what tests script ---------------------------------------------------------------

    def fail_next(
        self, status: int, body: Any = None, headers: dict[str, str] | None = None
    ) -> None:
        """Answers the next request ``status`` with ``body`` (JSON), acting on nothing."""
        self._failures.append(_Failure(status, body, headers or {}))

    def settle(self, intent: str) -> None:
        """The PaymentIntent was confirmed and captured."""
        found = self.intents[intent]
        found.update(status="succeeded", amount_received=found["amount"])

    def hold(self) -> None:
        """The next POST runs until ``release``; ``held`` is set once it is running."""
        self._hold = asyncio.Event()
        self._holding = True

    def release(self) -> None:
        if self._hold is not None:
            self._hold.set()

    # --- serving -------------------------------------------------------------------------

    def _new_id(self, prefix: str) -> str:
        return f"{prefix}_Fake{next(self._ids):04d}"

    async def handle(self, request: web.BaseRequest) -> web.StreamResponse:
        if self._failures:
            failure = self._failures.popleft()
            if failure.body is None:
                return web.Response(status=failure.status, headers=failure.headers)
            return web.json_response(failure.body, status=failure.status, headers=failure.headers)
        if request.headers.get("Authorization") != f"Bearer {self.api_key}":
            # Stripe masks the key it quotes; this fake quotes it whole, to prove the gateway
            # never passes it on.
            given = request.headers.get("Authorization", "").removeprefix("Bearer ")
            return self._error(
                401, stripe_error("invalid_request_error", f"Invalid API Key provided: {given}")
            )
        form = dict(parse_qsl((await request.read()).decode(), keep_blank_values=True))
        key = request.headers.get("Idempotency-Key")
        if request.method != "POST" or key is None:
            status, body = await self._act(request, form)
            return self._answer(status, body)
        fingerprint = (request.method, request.path, tuple(sorted(form.items())))
        stored = self._keys.get(key)
        if key in self._running:
            return self._error(
                409,
                stripe_error(
                    "idempotency_error",
                    "There is currently another in-progress request using this Idempotent Key.",
                    code="idempotency_key_in_use",
                ),
            )
        if stored is not None:
            if stored.fingerprint != fingerprint:
                return self._error(
                    400,
                    stripe_error(
                        "idempotency_error",
                        "Keys for idempotent requests can only be used with the same "
                        f"parameters they were first used with. Try using a key other than "
                        f"'{key}' if you meant to execute a different request.",
                    ),
                )
            self.replays += 1
            return self._answer(stored.status, stored.body, replayed=True)
        self._running.add(key)
        try:
            if self._holding and self._hold is not None:
                self._holding = False
                self.held.set()
                await self._hold.wait()
            status, body = await self._act(request, form)
        finally:
            self._running.discard(key)
        if status < 400 or status >= 500:  # Stripe stores what ran, errors of a run included
            self._keys[key] = _Stored(fingerprint, status, body)
        return self._answer(status, body)

    @staticmethod
    def _answer(status: int, body: dict[str, Any], *, replayed: bool = False) -> web.Response:
        headers = {"Idempotent-Replayed": "true"} if replayed else {}
        return web.json_response(body, status=status, headers=headers)

    @staticmethod
    def _error(status: int, body: dict[str, Any]) -> web.Response:
        return web.json_response(body, status=status)

    async def _act(
        self, request: web.BaseRequest, form: dict[str, str]
    ) -> tuple[int, dict[str, Any]]:
        method, parts = request.method, request.path.strip("/").split("/")[1:]
        match (method, parts):
            case ("GET", ["balance"]):
                return 200, {"object": "balance", "available": [], "pending": [], "livemode": False}
            case ("POST", ["customers"]):
                return self._create_customer(form)
            case ("GET", ["customers", cid]):
                return self._found(self.customers, cid, "customer")
            case ("DELETE", ["customers", cid]):
                return self._delete_customer(cid)
            case ("POST", ["payment_intents"]):
                return self._create_intent(form)
            case ("GET", ["payment_intents", pid]):
                return self._found(self.intents, pid, "payment_intent")
            case ("POST", ["payment_intents", pid, "cancel"]):
                return self._cancel_intent(pid, form)
            case ("POST", ["refunds"]):
                return self._refund(form)
            case ("POST", ["payment_links"]):
                return self._create_link(form)
            case ("POST", ["payment_links", lid]):
                return self._update_link(lid, form)
        return 404, stripe_error("invalid_request_error", "Unrecognized request URL.")

    def _found(
        self, store: dict[str, dict[str, Any]], oid: str, kind: str
    ) -> tuple[int, dict[str, Any]]:
        if oid not in store:
            return 404, stripe_error(
                "invalid_request_error", f"No such {kind}: '{oid}'", code="resource_missing"
            )
        return 200, store[oid]

    def _create_customer(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        cid = self._new_id("cus")
        self.customers[cid] = {
            "id": cid,
            "object": "customer",
            "email": form.get("email"),
            "name": form.get("name"),
            "phone": form.get("phone"),
            "description": form.get("description"),
            "metadata": _metadata(form),
            "created": 1_700_000_000,
            "livemode": False,
        }
        self.effects.append(("customer_created", cid))
        return 200, self.customers[cid]

    def _delete_customer(self, cid: str) -> tuple[int, dict[str, Any]]:
        found = self.customers.get(cid)
        if found is None or found.get("deleted"):
            return 404, stripe_error(
                "invalid_request_error", f"No such customer: '{cid}'", code="resource_missing"
            )
        self.customers[cid] = {"id": cid, "object": "customer", "deleted": True}
        self.effects.append(("customer_deleted", cid))
        return 200, self.customers[cid]

    def _create_intent(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if "amount" not in form or "currency" not in form:
            return 400, stripe_error(
                "invalid_request_error",
                "Missing required param: amount.",
                code="parameter_missing",
                param="amount",
            )
        pid = self._new_id("pi")
        self.intents[pid] = {
            "id": pid,
            "object": "payment_intent",
            "amount": int(form["amount"]),
            "amount_capturable": 0,
            "amount_received": 0,
            "currency": form["currency"],
            "capture_method": "automatic",
            "client_secret": f"{pid}_secret_FakeSecret",
            "customer": form.get("customer"),
            "description": form.get("description"),
            "latest_charge": None,
            "canceled_at": None,
            "cancellation_reason": None,
            "metadata": _metadata(form),
            "status": "requires_payment_method",
            "created": 1_700_000_000,
            "livemode": False,
        }
        self.effects.append(("payment_intent_created", pid))
        return 200, self.intents[pid]

    def _cancel_intent(self, pid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, intent = self._found(self.intents, pid, "payment_intent")
        if status != 200:
            return status, intent
        if intent["status"] not in CANCELABLE:
            return 400, stripe_error(
                "invalid_request_error",
                f"You cannot cancel this PaymentIntent because it has a status of "
                f"{intent['status']}.",
                code="payment_intent_unexpected_state",
            )
        intent.update(
            status="canceled",
            canceled_at=1_700_000_100,
            cancellation_reason=form.get("cancellation_reason"),
        )
        self.effects.append(("payment_intent_canceled", pid))
        return 200, intent

    def _refund(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, intent = self._found(self.intents, form.get("payment_intent", ""), "payment_intent")
        if status != 200:
            return status, intent
        if intent["status"] != "succeeded":
            return 400, stripe_error(
                "invalid_request_error",
                "This PaymentIntent does not have a successful charge to refund.",
                code="charge_not_refundable",
            )
        rid = self._new_id("re")
        self.refunds[rid] = {
            "id": rid,
            "object": "refund",
            "amount": int(form.get("amount", intent["amount"])),
            "currency": intent["currency"],
            "payment_intent": intent["id"],
            "reason": form.get("reason"),
            "metadata": _metadata(form),
            "status": "succeeded",
            "created": 1_700_000_200,
        }
        self.effects.append(("refund_created", rid))
        return 200, self.refunds[rid]

    def _create_link(self, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        if "line_items[0][price]" not in form:
            return 400, stripe_error(
                "invalid_request_error",
                "Missing required param: line_items.",
                code="parameter_missing",
                param="line_items",
            )
        lid = self._new_id("plink")
        self.links[lid] = {
            "id": lid,
            "object": "payment_link",
            "active": True,
            "url": f"https://buy.stripe.com/test_{lid}",
            "metadata": _metadata(form),
            "livemode": False,
        }
        self.effects.append(("payment_link_created", lid))
        return 200, self.links[lid]

    def _update_link(self, lid: str, form: dict[str, str]) -> tuple[int, dict[str, Any]]:
        status, link = self._found(self.links, lid, "payment_link")
        if status != 200:
            return status, link
        if "active" in form:
            link["active"] = form["active"] == "true"
            self.effects.append(("payment_link_updated", lid))
        return 200, link


@asynccontextmanager
async def fake_stripe(api_key: str) -> AsyncIterator[FakeStripe]:
    """Runs a ``FakeStripe`` on 127.0.0.1 until the block exits."""
    stripe = FakeStripe(api_key)
    server = web.Server(stripe.handle, access_log=None)
    runner = web.ServerRunner(server)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    stripe.url = f"http://127.0.0.1:{runner.addresses[0][1]}"
    try:
        yield stripe
    finally:
        stripe.release()
        await runner.cleanup()


def body_of(raw: bytes) -> dict[str, str]:
    """A form body as flat fields, for assertions."""
    return dict(parse_qsl(raw.decode(), keep_blank_values=True))
