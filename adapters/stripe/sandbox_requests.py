"""What the Stripe sandbox accepts: each request's parameters, and Stripe's errors.

A request's form is decoded into nested values (``form.decode``) and read into the model of
its endpoint. As at Stripe, an unknown parameter, a missing one or a value of the wrong type
is refused with 400 ``invalid_request_error`` naming it in ``param`` (``line_items[0][price]``)
before anything is acted on; such a refusal is not kept under the request's idempotency key.
The models take the parameters the connector sends, plus ``capture_method``, ``confirm``'s
``payment_method`` and ``capture``'s ``amount_to_capture``, which play the customer's side.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Annotated, Any, Literal, TypeVar

from pydantic import BaseModel, ConfigDict, Field, ValidationError

MAX_AMOUNT = 99_999_999  # Stripe's 8-digit ceiling per charge

Amount = Annotated[int, Field(ge=1, le=MAX_AMOUNT)]
MetadataKey = Annotated[str, Field(min_length=1, max_length=40)]
MetadataValue = Annotated[str, Field(max_length=500)]
Metadata = Annotated[dict[MetadataKey, MetadataValue], Field(max_length=50)]
Text = Annotated[str, Field(max_length=5000)]


class StripeFailure(Exception):
    """An answer in Stripe's error shape: ``{"error": {type, code, message, param, ...}}``.

    ``ran`` says whether the endpoint began acting: Stripe keeps such an answer under the
    request's idempotency key, and refuses a request whose parameters fail validation without
    keeping anything."""

    def __init__(
        self,
        status: int,
        message: str,
        *,
        code: str | None = None,
        param: str | None = None,
        kind: str = "invalid_request_error",
        decline_code: str | None = None,
        ran: bool = True,
    ) -> None:
        super().__init__(message)
        self.status = status
        self.ran = ran
        self.error: dict[str, str] = {"type": kind, "message": message}
        for name, value in (("code", code), ("param", param), ("decline_code", decline_code)):
            if value is not None:
                self.error[name] = value

    def body(self) -> dict[str, Any]:
        return {"error": dict(self.error)}


def missing(kind: str, object_id: str, param: str, status: int = 404) -> StripeFailure:
    """Stripe's answer for an id it does not hold: 404 in the path, 400 in a parameter."""
    return StripeFailure(
        status, f"No such {kind}: '{object_id}'", code="resource_missing", param=param
    )


class _Params(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class CustomerParams(_Params):
    email: Annotated[str, Field(max_length=512)] | None = None
    name: Annotated[str, Field(max_length=256)] | None = None
    phone: Annotated[str, Field(max_length=20)] | None = None
    description: Text | None = None
    metadata: Metadata = {}


class PaymentIntentParams(_Params):
    amount: Amount
    currency: Annotated[str, Field(pattern=r"^[A-Za-z]{3}$")]
    customer: str | None = None
    payment_method: str | None = None
    description: Text | None = None
    receipt_email: Annotated[str, Field(max_length=512)] | None = None
    capture_method: Literal["automatic", "automatic_async", "manual"] = "automatic"
    metadata: Metadata = {}


class CancelParams(_Params):
    cancellation_reason: (
        Literal["abandoned", "duplicate", "fraudulent", "requested_by_customer"] | None
    ) = None


class ConfirmParams(_Params):
    payment_method: str | None = None


class CaptureParams(_Params):
    amount_to_capture: Amount | None = None


class RefundParams(_Params):
    payment_intent: str
    amount: Amount | None = None
    reason: Literal["duplicate", "fraudulent", "requested_by_customer"] | None = None
    metadata: Metadata = {}


class LineItemParams(_Params):
    price: Annotated[str, Field(min_length=1)]
    quantity: Annotated[int, Field(ge=1, le=999_999)]


class RedirectParams(_Params):
    url: Annotated[str, Field(min_length=1, max_length=2048)]


class AfterCompletionParams(_Params):
    type: Literal["hosted_confirmation", "redirect"]
    redirect: RedirectParams | None = None


class PaymentLinkParams(_Params):
    line_items: Annotated[list[LineItemParams], Field(min_length=1, max_length=20)]
    after_completion: AfterCompletionParams | None = None
    metadata: Metadata = {}


class PaymentLinkUpdateParams(_Params):
    active: bool | None = None
    metadata: Metadata | None = None


P = TypeVar("P", bound=_Params)


def parse(model: type[P], params: Mapping[str, Any]) -> P:
    """``params`` (decoded form values) read into ``model``, or Stripe's 400 naming the first
    parameter at fault."""
    try:
        return model.model_validate(params)
    except ValidationError as error:
        raise _refusal(error.errors()[0]) from None


def _param(location: tuple[int | str, ...]) -> str:
    first, *rest = (str(part) for part in location)
    return first + "".join(f"[{part}]" for part in rest)


def _refusal(problem: Any) -> StripeFailure:
    param = _param(tuple(problem["loc"]))
    kind = problem["type"]
    if kind == "missing":
        return StripeFailure(
            400,
            f"Missing required param: {param}.",
            code="parameter_missing",
            param=param,
            ran=False,
        )
    if kind == "extra_forbidden":
        return StripeFailure(
            400,
            f"Received unknown parameter: {param}",
            code="parameter_unknown",
            param=param,
            ran=False,
        )
    if kind in ("int_parsing", "int_from_float", "int_type"):
        return StripeFailure(
            400,
            f"Invalid integer: {problem.get('input')}",
            code="parameter_invalid_integer",
            param=param,
            ran=False,
        )
    return StripeFailure(400, f"Invalid {param}: {problem['msg']}", param=param, ran=False)
