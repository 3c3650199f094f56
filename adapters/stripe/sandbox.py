"""The Stripe sandbox: Stripe's form-encoded REST API on loopback, one account per tenant.

Each tenant's account holds a secret key of its own (``sk_test_...``, drawn at start) and
its own customers, PaymentIntents, refunds and payment links (``sandbox_ledger.py``). The
routes are the ones the connector calls, plus the two a customer's side would
(``confirm``, ``capture``), so that a payment can succeed and be refunded:

* ``GET /v1/balance`` (the probe), ``POST /v1/customers``, ``GET``/``DELETE
  /v1/customers/{customer}``;
* ``POST /v1/payment_intents``, ``GET /v1/payment_intents/{intent}``, ``POST
  /v1/payment_intents/{intent}/cancel|confirm|capture``;
* ``POST /v1/refunds``, ``POST /v1/payment_links``, ``POST /v1/payment_links/{link}``.

Every POST honours ``Idempotency-Key`` as Stripe does: the first answer to a key (an error
of a request that ran included) is kept, and the same request under the same key gets it
again with ``Idempotent-Replayed: true``, acting on nothing; the same key with other
parameters is 400 ``idempotency_error``. A request refused for its parameters keeps nothing.
Errors use Stripe's body, ``{"error": {"type", "code", "message", "param"}}``.
"""

from __future__ import annotations

import copy
import secrets
from collections import OrderedDict
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import Handler, HttpSandbox
from gateway.sandbox import SandboxFault

from .account import StripeAccount
from .form import FormKeyError, decode
from .sandbox_ledger import StripeLedger
from .sandbox_requests import (
    CancelParams,
    CaptureParams,
    ConfirmParams,
    CustomerParams,
    PaymentIntentParams,
    PaymentLinkParams,
    PaymentLinkUpdateParams,
    RefundParams,
    StripeFailure,
    parse,
)

MAX_KEPT_ANSWERS = 10_000  # idempotency keys remembered, newest kept (Stripe: 24 hours)

# An endpoint: the tenant's ledger, the path's ids and the decoded parameters -> the object.
Act = Callable[[StripeLedger, Mapping[str, str], Mapping[str, Any]], dict[str, Any]]

ROUTES: tuple[tuple[str, str, Act], ...] = (
    ("GET", "/v1/balance", lambda ledger, ids, p: ledger.balance()),
    (
        "POST",
        "/v1/customers",
        lambda ledger, ids, p: ledger.create_customer(parse(CustomerParams, p)),
    ),
    ("GET", "/v1/customers/{customer}", lambda ledger, ids, p: ledger.customer(ids["customer"])),
    (
        "DELETE",
        "/v1/customers/{customer}",
        lambda ledger, ids, p: ledger.delete_customer(ids["customer"]),
    ),
    (
        "POST",
        "/v1/payment_intents",
        lambda ledger, ids, p: ledger.create_payment_intent(parse(PaymentIntentParams, p)),
    ),
    (
        "GET",
        "/v1/payment_intents/{intent}",
        lambda ledger, ids, p: ledger.payment_intent(ids["intent"]),
    ),
    (
        "POST",
        "/v1/payment_intents/{intent}/cancel",
        lambda ledger, ids, p: ledger.cancel_payment_intent(ids["intent"], parse(CancelParams, p)),
    ),
    (
        "POST",
        "/v1/payment_intents/{intent}/confirm",
        lambda ledger, ids, p: ledger.confirm_payment_intent(
            ids["intent"], parse(ConfirmParams, p)
        ),
    ),
    (
        "POST",
        "/v1/payment_intents/{intent}/capture",
        lambda ledger, ids, p: ledger.capture_payment_intent(
            ids["intent"], parse(CaptureParams, p)
        ),
    ),
    ("POST", "/v1/refunds", lambda ledger, ids, p: ledger.create_refund(parse(RefundParams, p))),
    (
        "POST",
        "/v1/payment_links",
        lambda ledger, ids, p: ledger.create_payment_link(parse(PaymentLinkParams, p)),
    ),
    (
        "POST",
        "/v1/payment_links/{link}",
        lambda ledger, ids, p: ledger.update_payment_link(
            ids["link"], parse(PaymentLinkUpdateParams, p)
        ),
    ),
)


def _kind(status: int) -> str:
    """Stripe's error type for an answer of ``status`` that no endpoint chose."""
    if status == 402:
        return "card_error"
    return "api_error" if status >= 500 else "invalid_request_error"


@dataclass(frozen=True)
class _Kept:
    """The first answer to an idempotency key, and the request it answered."""

    request: tuple[str, str, tuple[tuple[str, str], ...]]
    status: int
    body: dict[str, Any]


class StripeSandbox(HttpSandbox[StripeAccount]):
    key = "stripe"

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._kept: OrderedDict[tuple[str, str], _Kept] = OrderedDict()  # (tenant, key)

    def add_routes(self, app: web.Application) -> None:
        for method, path, act in ROUTES:
            app.router.add_route(method, path, self._endpoint(act))

    def account(self, tenant: str, base_url: str, credential: str) -> StripeAccount:
        return StripeAccount(api_key=SecretStr(credential), base_url=base_url)

    def new_credential(self, tenant: str) -> str:
        return f"sk_test_{secrets.token_hex(24)}"

    def error_body(self, status: int, code: str, message: str) -> Any:
        return {"error": {"type": _kind(status), "code": code, "message": message}}

    def _ledger(self, tenant: str) -> StripeLedger:
        return StripeLedger(
            lambda kind: self.objects(tenant, kind), lambda entry: self.record(tenant, entry)
        )

    def _endpoint(self, act: Act) -> Handler:
        async def handle(request: web.Request) -> web.Response:
            tenant = self.tenant_of(request)
            fields = [(k, v) for k, v in (await request.post()).items() if isinstance(v, str)]
            # Stripe takes the key on POSTs only; GET and DELETE are safe to repeat.
            key = request.headers.get("Idempotency-Key") if request.method == "POST" else None
            asked = (request.method, request.path, tuple(sorted(fields)))
            kept = self._kept.get((tenant, key)) if key else None
            if kept is not None:
                if kept.request != asked:
                    return _answer(400, _other_request(key or ""))
                return _answer(kept.status, kept.body, replayed=True)
            try:
                status, body = self._run(act, tenant, request, fields)
            except _NotKept as refused:
                return _answer(refused.failure.status, refused.failure.body())
            if key:
                self._keep(tenant, key, _Kept(asked, status, copy.deepcopy(body)))
            return _answer(status, body)

        return handle

    def _run(
        self, act: Act, tenant: str, request: web.Request, fields: list[tuple[str, str]]
    ) -> tuple[int, dict[str, Any]]:
        """The endpoint's answer; raises ``_NotKept`` for a request refused before acting."""
        try:
            params = decode(fields)
        except FormKeyError as bad:
            failure = StripeFailure(400, f"Invalid parameter: {bad.key}", param=bad.key, ran=False)
            raise _NotKept(failure) from None
        try:
            return 200, act(self._ledger(tenant), request.match_info, params)
        except StripeFailure as failure:
            if not failure.ran:
                raise _NotKept(failure) from None
            return failure.status, failure.body()

    def _keep(self, tenant: str, idempotency_key: str, kept: _Kept) -> None:
        self._kept[(tenant, idempotency_key)] = kept
        while len(self._kept) > MAX_KEPT_ANSWERS:
            self._kept.popitem(last=False)


class _NotKept(Exception):
    def __init__(self, failure: StripeFailure) -> None:
        super().__init__(failure.error["message"])
        self.failure = failure


def _other_request(kept_key: str) -> dict[str, Any]:
    return StripeFailure(
        400,
        "Keys for idempotent requests can only be used with the same parameters they were "
        f"first used with. Try using a key other than '{kept_key}' if you meant to "
        "execute a different request.",
        kind="idempotency_error",
    ).body()


def _answer(status: int, body: dict[str, Any], *, replayed: bool = False) -> web.Response:
    headers = {"Request-Id": f"req_{secrets.token_hex(7)}"}
    if replayed:
        headers["Idempotent-Replayed"] = "true"
    return web.json_response(body, status=status, headers=headers)
