"""The ``email`` connector: the gateway's Adapter lifecycle around the SMTP client."""

from __future__ import annotations

import asyncio
from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from gateway.contract import AttemptContext, ConnectorMetadata, ProbeResult
from gateway.errors import (
    InvalidPayload,
    NotCompensable,
    NotConfigured,
    ShuttingDown,
    UnknownOperation,
)

from .account import EmailAccount
from .client import SmtpClient, SmtpConfig
from .metadata import EMAIL_METADATA, SEND
from .operations import SendEmail
from .probe import DEFAULT_PROBE_TIMEOUT_S, probe_relay


class EmailAdapter:
    """Sends email through one SMTP relay. Satisfies ``gateway.contract.Adapter``."""

    def __init__(
        self,
        account: EmailAccount,
        *,
        probe_timeout_s: float = DEFAULT_PROBE_TIMEOUT_S,
        local_hostname: str | None = None,
    ) -> None:
        self._account = account
        self._probe_timeout_s = probe_timeout_s
        self._local_hostname = local_hostname  # EHLO name; None: this host's FQDN
        self._client: SmtpClient | None = None
        self._lock = asyncio.Lock()
        self._closed = False

    @property
    def metadata(self) -> ConnectorMetadata:
        return EMAIL_METADATA

    @property
    def configured(self) -> bool:
        return bool(self._account.host and self._account.from_address)

    async def initialize(self) -> None:
        """Resolves the password (directly or from its file) once. Makes no connection."""
        async with self._lock:
            self._closed = False
            host, from_address = self._account.host, self._account.from_address
            if self._client is not None or not host or not from_address:
                return
            try:
                password = await asyncio.to_thread(self._account.resolved_password)
            except OSError as exc:
                raise NotConfigured(
                    f"email: cannot read password_file: {exc.strerror or type(exc).__name__}"
                ) from None
            client = SmtpClient(
                SmtpConfig(
                    host=host,
                    port=self._account.port,
                    from_address=from_address,
                    security=self._account.security,
                    username=self._account.username or None,
                    password=password,
                    ca_file=self._account.ca_file,
                    local_hostname=self._local_hostname,
                )
            )
            await client.prepare()
            self._client = client

    async def _ready_client(self) -> SmtpClient:
        if self._closed:
            raise ShuttingDown("the email connector is shutting down")
        if not self.configured:
            raise NotConfigured("email: host and from_address must be configured")
        if self._client is None:
            await self.initialize()
        if self._client is None:  # pragma: no cover - initialize() sets it when configured
            raise NotConfigured("email: host and from_address must be configured")
        return self._client

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation != SEND:
            raise UnknownOperation(f"the email connector has no operation {operation!r}")
        if not isinstance(payload, SendEmail):
            raise InvalidPayload(
                f"email.send takes a SendEmail payload, not {type(payload).__name__}"
            )
        client = await self._ready_client()
        outcome = await client.send(payload, timeout_s=ctx.timeout_s, contact=ctx.contact)
        return outcome.as_result()

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]:
        raise NotCompensable("a sent email cannot be recalled")

    async def health_check(self) -> ProbeResult:
        if not self.configured:
            return ProbeResult(False, "not configured: host and from_address are required")
        try:
            client = await self._ready_client()
        except (NotConfigured, ShuttingDown) as exc:
            return ProbeResult(False, exc.message)
        return await probe_relay(client, timeout_s=self._probe_timeout_s)

    async def shutdown(self) -> None:
        """Refuses new sends and closes any connection still open."""
        self._closed = True
        if self._client is not None:
            self._client.close_all()
