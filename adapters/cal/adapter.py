"""The ``cal`` connector: the gateway's Adapter lifecycle around Cal.com API v2."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel, ValidationError

from adapters.http import VendorHttpClient
from adapters.shared.lifecycle import Lifecycle, load_secret
from gateway.contract import AttemptContext, ConnectorMetadata, Lookup, ProbeResult, VendorContact
from gateway.errors import (
    ExecutionResultMissing,
    GatewayError,
    InvalidPayload,
    NotCompensable,
    OutcomeUnknown,
    UnknownOperation,
)

from . import results, wire
from .account import CalAccount
from .errors import cal_error
from .lookup import find_booking
from .metadata import METADATA
from .operations import (
    BookingCreated,
    CancelBooking,
    CreateBooking,
    GetBooking,
    GetSlots,
    RescheduleBooking,
)

DEFAULT_PROBE_TIMEOUT_S = 5.0
UNDO = "cancel_booking"


class CalAdapter:
    """Books through one Cal.com account. Satisfies ``gateway.contract.Adapter`` and
    ``Reconciler`` (create_booking is found again by the marker in its metadata)."""

    def __init__(
        self, account: CalAccount, *, probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    ) -> None:
        self._account = account
        self._probe_timeout_s = probe_timeout_s
        self._client = Lifecycle(
            "cal",
            self._open,
            VendorHttpClient.close,
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
        """Reads the API key (directly or from its file) and opens the HTTP session. Makes no
        connection."""
        await self._client.initialize()

    async def _open(self) -> VendorHttpClient:
        key = await load_secret(
            self._account.resolved_api_key,
            unreadable="cal: cannot read api_key_file",
            empty="cal: the API key is empty",
        )
        client = VendorHttpClient(
            "cal",
            self._account.base_url,
            headers={"Authorization": f"Bearer {key}"},
            error_parser=cal_error,
        )
        await client.start()
        return client

    def _version(self, family: wire.Family) -> str:
        if family is wire.Family.SLOTS:
            return self._account.slots_api_version
        return self._account.bookings_api_version

    async def _send(
        self, call: wire.VendorCall, timeout_s: float, contact: VendorContact | None = None
    ) -> Any:
        client = await self._client.get()
        headers = {"cal-api-version": self._version(call.family)} if call.family else {}
        response = await client.request(
            call.method,
            call.path,
            timeout_s=timeout_s,
            json=call.body,
            params=call.params or None,
            headers=headers,
            contact=contact,
        )
        return response.body

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        match operation, payload:
            case "get_slots", GetSlots():
                call = wire.get_slots(payload)
            case "get_booking", GetBooking():
                call = wire.get_booking(payload)
            case "create_booking", CreateBooking():
                call = wire.create_booking(payload, ctx.marker)
            case "cancel_booking", CancelBooking():
                call = wire.cancel(payload)
            case "reschedule_booking", RescheduleBooking():
                call = wire.reschedule_booking(payload)
            case _ if METADATA.operation(operation) is None:
                raise UnknownOperation(f"the cal connector has no operation {operation!r}")
            case _:
                raise InvalidPayload(
                    f"cal.{operation} does not take a {type(payload).__name__} payload"
                )
        body = await self._send(call, ctx.timeout_s, ctx.contact)
        where = f"{call.method} {call.path}"
        if isinstance(payload, GetSlots):
            return results.slots(body, where, payload.timeZone)
        return results.booking(body, where).as_result()

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        """Undoes a create_booking by canceling the booking, with the account's reason."""
        if operation != UNDO:
            raise NotCompensable(f"cal.{operation} is not an undo this connector performs")
        try:
            created = BookingCreated.model_validate(original)
        except ValidationError:
            raise ExecutionResultMissing(
                "the execution's result holds no Cal.com booking uid to cancel"
            ) from None
        call = wire.cancel_booking(created.uid, self._account.undo_reason)
        body = await self._send(call, ctx.timeout_s, ctx.contact)
        return results.booking(body, f"{call.method} {call.path}").as_result()

    async def reconcile(self, operation: str, payload: BaseModel, ctx: AttemptContext) -> Lookup:
        """Whether an earlier create_booking made a booking: the one carrying its marker."""
        if operation != "create_booking" or not isinstance(payload, CreateBooking):
            raise OutcomeUnknown(f"cal cannot look up an earlier {operation}")
        found = await find_booking(
            lambda call, timeout_s: self._send(call, timeout_s),
            payload,
            ctx.marker,
            ctx.timeout_s,
        )
        return Lookup(True, found.as_result()) if found is not None else Lookup(False)

    async def health_check(self) -> ProbeResult:
        """``GET /v2/me``: the API key opens the account."""
        if not self.configured:
            return ProbeResult(False, "not configured: api_key or api_key_file is required")
        where = f"{wire.ME.method} {wire.ME.path}"
        try:
            body = await self._send(wire.ME, self._probe_timeout_s)
            results.authenticated(body, where)
        except GatewayError as exc:
            status = exc.metadata.get("vendor_status")
            detail = f"{where}: {exc.reason}" + (f" (HTTP {status})" if status else "")
            return ProbeResult(False, detail, exc)
        return ProbeResult(True, f"{where}: the API key is accepted")

    async def shutdown(self) -> None:
        """Refuses new calls and closes the HTTP session."""
        await self._client.shutdown()
