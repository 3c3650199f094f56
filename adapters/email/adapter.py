"""The ``email`` connector: the gateway's Adapter lifecycle around the SMTP client."""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from pydantic import BaseModel

from adapters.shared.lifecycle import Lifecycle, load_optional_secret
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
        self._client = Lifecycle(
            "email",
            self._open,
            _close,
            configured=lambda: self.configured,
            needs="host and from_address",
        )

    @property
    def metadata(self) -> ConnectorMetadata:
        return EMAIL_METADATA

    @property
    def configured(self) -> bool:
        return bool(self._account.host and self._account.from_address)

    async def initialize(self) -> None:
        """Resolves the password (directly or from its file). Makes no connection."""
        await self._client.initialize()

    async def _open(self) -> SmtpClient:
        account = self._account
        password = await load_optional_secret(
            account.resolved_password, unreadable="email: cannot read password_file"
        )
        client = SmtpClient(
            SmtpConfig(
                host=account.host or "",  # opened only when host and from_address are set
                port=account.port,
                from_address=account.from_address or "",
                security=account.security,
                username=account.username or None,
                password=password,
                ca_file=account.ca_file,
                local_hostname=self._local_hostname,
            )
        )
        await client.prepare()
        return client

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        if operation != SEND:
            raise UnknownOperation(f"the email connector has no operation {operation!r}")
        if not isinstance(payload, SendEmail):
            raise InvalidPayload(
                f"email.send takes a SendEmail payload, not {type(payload).__name__}"
            )
        client = await self._client.get()
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
            client = await self._client.get()
        except (NotConfigured, ShuttingDown) as exc:
            return ProbeResult(False, exc.message)
        return await probe_relay(client, timeout_s=self._probe_timeout_s)

    async def shutdown(self) -> None:
        """Refuses new sends and closes any connection still open."""
        await self._client.shutdown()


async def _close(client: SmtpClient) -> None:
    client.close_all()
