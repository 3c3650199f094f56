"""The ``voice`` connector: the gateway's Adapter lifecycle around Twilio's Calls resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

import aiohttp
from pydantic import BaseModel

from adapters.http import VendorHttpClient
from adapters.shared.lifecycle import Lifecycle, load_secret
from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import (
    GatewayError,
    UnknownOperation,
    VendorAuthFailed,
)

from .account import VoiceAccount
from .calls import call_result, place_call_form
from .errors import twilio_error
from .metadata import METADATA
from .operations import CallPlaced, CancelCall, GetCall, PlaceCall
from .undo import stop_call

API = "/2010-04-01"
DEFAULT_PROBE_TIMEOUT_S = 5.0


class VoiceAdapter:
    """Places, reads and ends calls of one Twilio account. Satisfies
    ``gateway.contract.Adapter``; Twilio cannot be asked whether a lost create was acted on
    (no marker to find a call by), so it is no ``Reconciler``."""

    def __init__(
        self, account: VoiceAccount, *, probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    ) -> None:
        self._account = account
        self._probe_timeout_s = probe_timeout_s
        self._client = Lifecycle(
            "voice",
            self._open,
            VendorHttpClient.close,
            configured=lambda: self.configured,
            needs="account_sid and a secret",
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return self._account.has_credentials

    @property
    def _account_path(self) -> str:
        return f"{API}/Accounts/{self._account.account_sid}"

    def _call_path(self, sid: str) -> str:
        return f"{self._account_path}/Calls/{sid}.json"

    async def initialize(self) -> None:
        """Reads the secret (directly or from its file) and opens the HTTP session.
        Makes no connection."""
        await self._client.initialize()

    async def _open(self) -> VendorHttpClient:
        credentials = await load_secret(
            self._account.basic_auth,
            unreadable="voice: cannot read the secret file",
            empty="voice: the Twilio secret is empty",
        )
        client = VendorHttpClient(
            "twilio",
            self._account.base_url,
            headers={
                "Authorization": aiohttp.encode_basic_auth(*credentials),
                "Accept": "application/json",
            },
            error_parser=twilio_error,
        )
        await client.start()
        return client

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        client = await self._client.get()
        form: list[tuple[str, str]] | None = None
        if operation == "place_call" and isinstance(payload, PlaceCall):
            method, path = "POST", f"{self._account_path}/Calls.json"
            form = place_call_form(payload)
        elif operation == "get_call" and isinstance(payload, GetCall):
            method, path = "GET", self._call_path(payload.CallSid)
        elif operation == "cancel_call" and isinstance(payload, CancelCall):
            method, path = "POST", self._call_path(payload.CallSid)
            form = [("Status", payload.Status)]
        else:
            raise UnknownOperation(f"the voice connector has no operation {operation!r}")
        answer = await client.request(
            method, path, form=form, timeout_s=ctx.timeout_s, contact=ctx.contact
        )
        return call_result(answer.body, f"{method} {path}")

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation != "cancel_call":
            raise UnknownOperation(f"the voice connector undoes nothing with {operation!r}")
        # The gateway checked the stored result against CallPlaced before asking for the undo.
        placed = CallPlaced.model_validate(original)
        client = await self._client.get()
        return await stop_call(client, self._call_path(placed.sid), placed.sid, ctx)

    async def health_check(self) -> ProbeResult:
        """Reads the account (``GET /2010-04-01/Accounts/{AccountSid}.json``): the
        credentials work and the account is active."""
        if not self.configured:
            return ProbeResult(False, "not configured: account_sid and a secret are required")
        try:
            client = await self._client.get()
            answer = await client.request(
                "GET", f"{self._account_path}.json", timeout_s=self._probe_timeout_s
            )
        except GatewayError as error:
            status = error.metadata.get("vendor_status")
            said = f" (HTTP {status})" if status else ""
            return ProbeResult(False, f"twilio account probe: {error.reason}{said}", error)
        body = answer.body if isinstance(answer.body, dict) else {}
        state = body.get("status", "active")
        if state != "active":
            inactive = VendorAuthFailed(
                f"the Twilio account is {state!s:.20}, not active; an operator must see to it",
                metadata={"account_status": f"{state!s:.20}"},
            )
            return ProbeResult(False, f"twilio account probe: account {state!s:.20}", inactive)
        return ProbeResult(True, "twilio account probe: active")

    async def shutdown(self) -> None:
        """Refuses new calls and closes the HTTP session."""
        await self._client.shutdown()
