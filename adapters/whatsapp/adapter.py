"""The ``whatsapp`` connector: the gateway's Adapter lifecycle around the Cloud API's
messages resource."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from adapters.http import VendorHttpClient
from adapters.shared.lifecycle import Lifecycle, load_secret
from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import (
    GatewayError,
    NotCompensable,
    UnknownOperation,
)

from .account import WhatsAppAccount
from .errors import graph_error, graph_failure
from .messages import sent_result, template_message, text_message
from .metadata import METADATA
from .operations import SendTemplate, SendText

DEFAULT_PROBE_TIMEOUT_S = 5.0
# Graph's description of the messages call constrains the User-Agent to name/x.y.z.
USER_AGENT = f"connector-gateway/{METADATA.version}"


class WhatsAppAdapter:
    """Sends messages from one WhatsApp Business phone number. Satisfies
    ``gateway.contract.Adapter``; the Cloud API cannot be asked whether a lost send was
    acted on, so it is no ``Reconciler``."""

    def __init__(
        self, account: WhatsAppAccount, *, probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S
    ) -> None:
        self._account = account
        self._probe_timeout_s = probe_timeout_s
        self._client = Lifecycle(
            "whatsapp",
            self._open,
            VendorHttpClient.close,
            configured=lambda: self.configured,
            needs="phone_number_id and an access token",
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return METADATA

    @property
    def configured(self) -> bool:
        return self._account.has_credentials

    @property
    def _number_path(self) -> str:
        return f"/{self._account.graph_version}/{self._account.phone_number_id}"

    async def initialize(self) -> None:
        """Reads the access token (directly or from its file) and opens the HTTP
        session. Makes no connection."""
        await self._client.initialize()

    async def _open(self) -> VendorHttpClient:
        token = await load_secret(
            self._account.resolved_token,
            unreadable="whatsapp: cannot read access_token_file",
            empty="whatsapp: the access token is empty",
        )
        client = VendorHttpClient(
            "whatsapp",
            self._account.base_url,
            headers={
                "Authorization": f"Bearer {token}",
                "Accept": "application/json",
                "User-Agent": USER_AGENT,
            },
            error_parser=graph_error,
        )
        await client.start()
        return client

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation == "send_text" and isinstance(payload, SendText):
            message = text_message(payload)
        elif operation == "send_template" and isinstance(payload, SendTemplate):
            message = template_message(payload)
        else:
            raise UnknownOperation(f"the whatsapp connector has no operation {operation!r}")
        client = await self._client.get()
        path = f"{self._number_path}/messages"
        where = f"POST {path}"
        try:
            answer = await client.request(
                "POST", path, json=message, timeout_s=ctx.timeout_s, contact=ctx.contact
            )
        except GatewayError as error:
            failure = graph_failure(error, where)
            if failure is error:
                raise
            raise failure from error
        return sent_result(answer.body, where)

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        raise NotCompensable("a sent WhatsApp message cannot be recalled")

    async def health_check(self) -> ProbeResult:
        """Reads the business phone number (``GET /{version}/{phone-number-id}``): the token
        works and may see the number."""
        if not self.configured:
            return ProbeResult(
                False, "not configured: phone_number_id and an access token are required"
            )
        try:
            client = await self._client.get()
            await client.request("GET", self._number_path, timeout_s=self._probe_timeout_s)
        except GatewayError as error:
            failure = graph_failure(error, f"GET {self._number_path}")
            status = failure.metadata.get("vendor_status")
            said = f" (HTTP {status})" if status else ""
            detail = f"whatsapp phone number probe: {failure.reason}{said}"
            return ProbeResult(False, detail, failure)
        return ProbeResult(True, "whatsapp phone number probe: ok")

    async def shutdown(self) -> None:
        """Refuses new sends and closes the HTTP session."""
        await self._client.shutdown()
