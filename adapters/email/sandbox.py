"""The email sandbox: an SMTP relay in the gateway's own process, on loopback.

aiosmtpd's SMTP protocol runs on the gateway's event loop (no thread) on a port the system
picks. Each tenant logs in with an account of its own (the tenant's name and a password drawn
at start), and the messages it sends are kept under that tenant: the newest ``MAX_RECEIVED``,
with their bodies cut at ``MAX_BODY_CHARS``. The real adapter talks to it over plain SMTP
with AUTH, exactly as to a relay.

Failure injection (``sandbox.fail.email``): ``status`` replies that code at ``at``, one of
``mail``, ``rcpt`` or ``end_of_data`` (the reply to the message; the default), without
accepting anything; ``drop = true`` takes the step (at ``end_of_data``: keeps the message)
and then drops the connection without a reply, so the gateway cannot learn the outcome.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import hmac
import logging
import secrets
import warnings
import weakref
from collections import deque
from datetime import UTC, datetime
from email.message import EmailMessage
from typing import Any

from aiosmtpd.smtp import SMTP, AuthResult, Envelope, LoginPassword, Session
from pydantic import SecretStr

from gateway.sandbox import MAX_RECEIVED, FaultSwitch, SandboxFault

from .account import EmailAccount

HOST = "127.0.0.1"
STAGES = ("mail", "rcpt", "end_of_data")
MAX_BODY_CHARS = 16_000  # of each of text and html, as the sandbox keeps them
FROM_ADDRESS = "Gateway sandbox <gateway@sandbox.invalid>"
SERVER_NAME = "email-sandbox.invalid"  # its greeting; no DNS lookup of this host's name
IDLE_TIMEOUT_S = 60.0

log = logging.getLogger(__name__)


def _cut(text: str) -> str:
    return text if len(text) <= MAX_BODY_CHARS else text[:MAX_BODY_CHARS] + "…"


def _body(message: EmailMessage, subtype: str) -> str | None:
    part = message.get_body(preferencelist=(subtype,))
    if part is None or part.get_content_subtype() != subtype:
        return None
    return _cut(str(part.get_content()).rstrip("\n"))


def as_record(envelope: Envelope) -> dict[str, Any]:
    """A received message as ``ShowSandbox`` shows it."""
    data = (envelope.original_content or b"").replace(b"\r\n", b"\n")
    message = email.message_from_bytes(data, _class=EmailMessage, policy=email.policy.default)
    record: dict[str, Any] = {
        "message_id": str(message.get("Message-ID", "")),
        "from": str(message.get("From", "")),
        "to": str(message.get("To", "")),
        "recipients": list(envelope.rcpt_tos),
        "subject": str(message.get("Subject", "")),
        "received_at": datetime.now(UTC).isoformat(timespec="milliseconds"),
    }
    if message.get("Cc"):
        record["cc"] = str(message["Cc"])
    for subtype, name in (("plain", "text"), ("html", "html")):
        body = _body(message, subtype)
        if body is not None:
            record[name] = body
    return record


class EmailSandbox:
    """Satisfies ``gateway.sandbox.VendorSandbox`` with ``EmailAccount`` accounts."""

    def __init__(self, fault: SandboxFault | None = None) -> None:
        if fault is not None and fault.at and fault.at not in STAGES:
            raise ValueError(
                f"sandbox.fail.email.at must be one of {', '.join(STAGES)} (got {fault.at!r})"
            )
        self._fault = FaultSwitch(fault)
        self._at = (fault.at if fault is not None else "") or "end_of_data"
        self._passwords: dict[str, str] = {}
        self._received: dict[str, deque[dict[str, Any]]] = {}
        self._server: asyncio.Server | None = None
        # The open connections, to drop at stop; a closed one leaves with its protocol.
        self._sessions: weakref.WeakSet[SMTP] = weakref.WeakSet()
        self.port = 0

    async def start(self) -> None:
        loop = asyncio.get_running_loop()
        # aiosmtpd logs every sender and recipient (payload data) at INFO, and warns on every
        # connection of AUTH without TLS, which is what a loopback sandbox wants.
        logging.getLogger("mail.log").setLevel(logging.ERROR)

        def session() -> SMTP:
            with warnings.catch_warnings():
                warnings.simplefilter("ignore", UserWarning)
                smtp = SMTP(
                    self,
                    hostname=SERVER_NAME,
                    ident="connector-gateway email sandbox",
                    enable_SMTPUTF8=True,
                    auth_required=True,
                    auth_require_tls=False,
                    authenticator=self._authenticate,
                    timeout=IDLE_TIMEOUT_S,
                    loop=loop,
                )
            self._sessions.add(smtp)
            return smtp

        self._server = await loop.create_server(session, HOST, 0)
        self.port = int(self._server.sockets[0].getsockname()[1])

    def account_for(self, tenant: str) -> EmailAccount:
        password = self._passwords.setdefault(tenant, secrets.token_urlsafe(24))
        return EmailAccount(
            host=HOST,
            port=self.port,
            security="none",
            username=tenant,
            password=SecretStr(password),
            from_address=FROM_ADDRESS,
        )

    def received(self, tenant: str) -> list[dict[str, Any]]:
        return list(self._received.get(tenant, ()))

    async def stop(self) -> None:
        if self._server is None:
            return
        self._server.close()
        for smtp in list(self._sessions):
            if smtp.transport is not None:
                smtp.transport.close()
        self._sessions.clear()
        with contextlib.suppress(Exception):
            await self._server.wait_closed()
        self._server = None

    # --- aiosmtpd: who logs in, and the hooks of each step ----------------------------------

    def _authenticate(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        mechanism: str,
        auth_data: Any,
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword):
            tenant = auth_data.login.decode("utf-8", "replace")
            expected = self._passwords.get(tenant)
            if expected is not None and hmac.compare_digest(auth_data.password, expected.encode()):
                return AuthResult(success=True, auth_data=tenant)
        return AuthResult(success=False, handled=False)

    def _injected(self, stage: str, server: SMTP) -> str | None:
        """The reply of a fault at this stage ("" to say nothing), or None to go on."""
        fault = self._fault.take() if stage == self._at else None
        return None if fault is None else self._failed(fault, server)

    @staticmethod
    def _failed(fault: SandboxFault, server: SMTP) -> str:
        if fault.drop:
            if server.transport is not None:
                server.transport.close()
            return ""  # written to a closed connection: nobody reads it
        status = fault.status or 451
        return f"{status} {status // 100}.0.0 sandbox failure injected (sandbox.fail.email)"

    async def handle_MAIL(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        mail_options: list[str],
    ) -> str:
        injected = self._injected("mail", server)
        if injected is not None:
            return injected
        envelope.mail_from = address
        envelope.mail_options.extend(mail_options)
        return "250 2.1.0 OK"

    async def handle_RCPT(
        self,
        server: SMTP,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        injected = self._injected("rcpt", server)
        if injected is not None:
            return injected
        envelope.rcpt_tos.append(address)
        envelope.rcpt_options.extend(rcpt_options)
        return "250 2.1.5 OK"

    async def handle_DATA(self, server: SMTP, session: Session, envelope: Envelope) -> str:
        fault = self._fault.take() if self._at == "end_of_data" else None
        if fault is None or fault.drop:  # dropped after the message: it was received
            self._keep(session, envelope)
        return "250 2.0.0 Message accepted" if fault is None else self._failed(fault, server)

    def _keep(self, session: Session, envelope: Envelope) -> None:
        tenant = session.auth_data if isinstance(session.auth_data, str) else ""
        kept = self._received.setdefault(tenant, deque(maxlen=MAX_RECEIVED))
        try:
            kept.append(as_record(envelope))
        except Exception:  # a message the parser cannot read is still a message received
            log.exception("the email sandbox could not read a message")
            kept.append({"recipients": list(envelope.rcpt_tos), "unreadable": True})
