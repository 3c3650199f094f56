"""The ``stripe`` connector: the gateway's Adapter lifecycle around Stripe's API."""

from __future__ import annotations

from collections.abc import Awaitable, Callable, Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.http import VendorHttpClient
from adapters.shared.lifecycle import Lifecycle, load_secret
from adapters.shared.payloads import VendorResult
from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import (
    ExecutionResultMissing,
    GatewayError,
    InvalidPayload,
    NotCompensable,
    NotConfigured,
    UnknownOperation,
)

from .account import StripeAccount
from .api import BALANCE_PATH, Exchange, StripeApi
from .errors import stripe_error
from .metadata import (
    CANCEL_PAYMENT_INTENT,
    CREATE_CUSTOMER,
    CREATE_PAYMENT_INTENT,
    CREATE_PAYMENT_LINK,
    CREATE_REFUND,
    DEACTIVATE_PAYMENT_LINK,
    DELETE_CUSTOMER,
    GET_PAYMENT_INTENT,
    METADATA,
    REVERSE_PAYMENT_INTENT,
)
from .operations import (
    CancelPaymentIntent,
    CreateCustomer,
    CreatePaymentIntent,
    CreatePaymentLink,
    CreateRefund,
    DeactivatePaymentLink,
    DeleteCustomer,
    GetPaymentIntent,
    ReversePaymentIntent,
)
from .results import CustomerResult, PaymentIntentResult, PaymentLinkResult, as_result

# Stripe's secret keys: standard (sk_live_/sk_test_) and restricted (rk_live_/rk_test_).
_SECRET_KEY_PREFIXES = ("sk_", "rk_")
_WRONG_KIND_OF_KEY = (
    "stripe: the API key must be a secret key (sk_...) or a restricted key (rk_...); "
    "a publishable key (pk_...) cannot call the API"
)

Run = Callable[[StripeApi, Any, Exchange], Awaitable[VendorResult]]

# Each operation: the payload it takes, and what it asks of Stripe.
_OPERATIONS: dict[str, tuple[type[BaseModel], Run]] = {
    GET_PAYMENT_INTENT: (
        GetPaymentIntent,
        lambda api, p, x: api.get_payment_intent(p.payment_intent, x),
    ),
    CREATE_CUSTOMER: (CreateCustomer, lambda api, p, x: api.create_customer(p, x)),
    CREATE_PAYMENT_INTENT: (
        CreatePaymentIntent,
        lambda api, p, x: api.create_payment_intent(p, x),
    ),
    CANCEL_PAYMENT_INTENT: (
        CancelPaymentIntent,
        lambda api, p, x: api.cancel_payment_intent(p, x),
    ),
    CREATE_REFUND: (CreateRefund, lambda api, p, x: api.create_refund(p, x)),
    CREATE_PAYMENT_LINK: (CreatePaymentLink, lambda api, p, x: api.create_payment_link(p, x)),
    DELETE_CUSTOMER: (DeleteCustomer, lambda api, p, x: api.delete_customer(p.customer, x)),
    DEACTIVATE_PAYMENT_LINK: (
        DeactivatePaymentLink,
        lambda api, p, x: api.deactivate_payment_link(p.payment_link, x),
    ),
    REVERSE_PAYMENT_INTENT: (
        ReversePaymentIntent,
        lambda api, p, x: api.reverse_payment_intent(p.payment_intent, x),
    ),
}

# Each undo: the result of the execution it undoes (its id), and what it asks of Stripe.
_UNDOS: dict[str, tuple[type[VendorResult], Run]] = {
    DELETE_CUSTOMER: (CustomerResult, lambda api, r, x: api.delete_customer(r.id, x)),
    DEACTIVATE_PAYMENT_LINK: (
        PaymentLinkResult,
        lambda api, r, x: api.deactivate_payment_link(r.id, x),
    ),
    REVERSE_PAYMENT_INTENT: (
        PaymentIntentResult,
        lambda api, r, x: api.reverse_payment_intent(r.id, x),
    ),
}


class StripeAdapter:
    """Calls Stripe with one account's secret key. Satisfies ``gateway.contract.Adapter``."""

    def __init__(self, account: StripeAccount) -> None:
        self._account = account
        self._api = Lifecycle(
            "stripe",
            self._open,
            StripeApi.close,
            configured=lambda: self.configured,
            needs="api_key or api_key_file",
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return self._account.has_key

    async def initialize(self) -> None:
        """Reads the key (directly or from its file) and opens the HTTP session. Makes no
        connection."""
        await self._api.initialize()

    async def _open(self) -> StripeApi:
        key = await load_secret(
            self._account.resolved_api_key,
            unreadable="stripe: cannot read api_key_file",
            empty=_WRONG_KIND_OF_KEY,
        )
        if not key.startswith(_SECRET_KEY_PREFIXES):
            raise NotConfigured(_WRONG_KIND_OF_KEY)
        client = VendorHttpClient(
            "stripe",
            self._account.base_url,
            headers={
                "Authorization": f"Bearer {key}",
                "Stripe-Version": self._account.api_version,
            },
            error_parser=stripe_error,
        )
        await client.start()
        return StripeApi(client)

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        entry = _OPERATIONS.get(operation)
        if entry is None:
            raise UnknownOperation(f"the stripe connector has no operation {operation!r}")
        model, run = entry
        if not isinstance(payload, model):
            raise InvalidPayload(
                f"stripe.{operation} takes a {model.__name__} payload, not {type(payload).__name__}"
            )
        api = await self._api.get()
        return as_result(await run(api, payload, Exchange.of(ctx)))

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        entry = _UNDOS.get(operation)
        if entry is None:
            raise NotCompensable(f"stripe.{operation} is not an undo of this connector")
        model, run = entry
        try:
            undone = model.model_validate(original)
        except ValidationError:
            raise ExecutionResultMissing(
                f"the execution's stored result holds no Stripe id for {operation}; undo it "
                "in the Stripe Dashboard"
            ) from None
        api = await self._api.get()
        return as_result(await run(api, undone, Exchange.of(ctx)))

    async def health_check(self) -> ProbeResult:
        """Reads the balance: the key works and Stripe answers. The detail names the
        request, the reason and Stripe's status and code, never Stripe's words."""
        where = f"GET {BALANCE_PATH}"
        try:
            api = await self._api.get()
            await api.read_balance(self._account.probe_timeout_s)
        except GatewayError as error:
            said = ", ".join(
                f"{key} {error.metadata[key]}"
                for key in ("vendor_status", "vendor_code", "phase")
                if key in error.metadata
            )
            detail = f"stripe: {where} failed: {error.reason}" + (f" ({said})" if said else "")
            return ProbeResult(False, detail, error)
        return ProbeResult(True, f"stripe: {where} answered")

    async def shutdown(self) -> None:
        """Refuses new calls and closes the HTTP session."""
        await self._api.shutdown()
