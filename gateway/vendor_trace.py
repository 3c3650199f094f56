"""Spans of a call's vendor attempts: the client of each protocol opens one per exchange.

The attempt pipeline says which attempt is running (``attempt_scope``); within it, the shared
HTTP client opens a CLIENT span for each request and sends that span's ``traceparent``, and
the SMTP client one for each message (``vendor_span``), as children of the gateway's server
span. Outside an attempt (health probes, an operator's lookup) and in calls that are not
sampled, no span is made and nothing is allocated.

A span says which connector, operation and attempt it belongs to and how it ended (OK or the
error's reason, and its phase), plus what its protocol needs (method, server, status). It
never holds payload content, headers or query strings, nor the vendor's or the transport's
own words: exceptions are not recorded. For a connector whose data is confidential or
restricted, not even what is derived from the payload (a request's path, which may hold ids
taken from it) is set.
"""

from __future__ import annotations

import asyncio
from collections.abc import Iterator, Mapping
from contextlib import AbstractContextManager, contextmanager, nullcontext
from contextvars import ContextVar
from dataclasses import dataclass

from opentelemetry import trace
from opentelemetry.semconv.attributes.error_attributes import ERROR_TYPE
from opentelemetry.trace import SpanKind, Status, StatusCode
from opentelemetry.util.types import AttributeValue

from gateway.contract import DataClassification
from gateway.errors import GatewayError

CONNECTOR = "connectorgateway.connector"
OPERATION = "connectorgateway.operation"
ATTEMPT = "connectorgateway.attempt"
OUTCOME = "connectorgateway.outcome"  # OK, or the reason of the error the exchange ended in
PHASE = "connectorgateway.phase"  # how far a failed exchange got (connect, rcpt, response...)

# Classifications whose payload-derived values may appear in a span.
_OPEN_CLASSIFICATIONS = frozenset({DataClassification.PUBLIC, DataClassification.INTERNAL})


@dataclass(frozen=True, slots=True)
class VendorAttempt:
    """The attempt running in this task, for the spans of its exchanges."""

    tracer: trace.Tracer
    connector: str
    operation: str
    number: int
    classification: DataClassification

    @property
    def shows_payload(self) -> bool:
        return self.classification in _OPEN_CLASSIFICATIONS


_CURRENT: ContextVar[VendorAttempt | None] = ContextVar("vendor_attempt", default=None)
# What calls that are not sampled get: shared, so that they allocate nothing.
_UNTRACED: AbstractContextManager[None] = nullcontext()
_NO_SPAN: AbstractContextManager[trace.Span] = nullcontext(trace.INVALID_SPAN)


def attempt_scope(attempt: VendorAttempt | None) -> AbstractContextManager[None]:
    """Runs the block as ``attempt`` (nothing is traced when it is None)."""
    return _UNTRACED if attempt is None else _scope(attempt)


@contextmanager
def _scope(attempt: VendorAttempt) -> Iterator[None]:
    token = _CURRENT.set(attempt)
    try:
        yield
    finally:
        _CURRENT.reset(token)


def vendor_span(
    name: str,
    attributes: Mapping[str, AttributeValue],
    *,
    from_payload: Mapping[str, AttributeValue] | None = None,
) -> AbstractContextManager[trace.Span]:
    """The current span for one exchange with the vendor (a no-op span outside a traced
    attempt). ``from_payload``: attributes derived from the payload, set only where the
    connector's classification allows."""
    attempt = _CURRENT.get()
    if attempt is None:
        return _NO_SPAN
    return _span(attempt, name, attributes, from_payload)


@contextmanager
def _span(
    attempt: VendorAttempt,
    name: str,
    attributes: Mapping[str, AttributeValue],
    from_payload: Mapping[str, AttributeValue] | None,
) -> Iterator[trace.Span]:
    with attempt.tracer.start_as_current_span(
        name,
        kind=SpanKind.CLIENT,
        attributes={
            **attributes,
            **(from_payload if from_payload and attempt.shows_payload else {}),
            CONNECTOR: attempt.connector,
            OPERATION: attempt.operation,
            ATTEMPT: attempt.number,
        },
        record_exception=False,  # an exception's text may quote the vendor or the payload
        set_status_on_exception=False,
    ) as span:
        try:
            yield span
        except GatewayError as error:
            _failed(span, error.reason)
            phase = error.metadata.get("phase")
            if phase:
                span.set_attribute(PHASE, phase)
            raise
        except asyncio.CancelledError:
            _failed(span, "CANCELLED")
            raise
        except BaseException:
            _failed(span, "INTERNAL")
            raise
        span.set_attribute(OUTCOME, "OK")


def _failed(span: trace.Span, reason: str) -> None:
    span.set_attribute(OUTCOME, reason)
    span.set_attribute(ERROR_TYPE, reason)
    span.set_status(Status(StatusCode.ERROR, reason))
