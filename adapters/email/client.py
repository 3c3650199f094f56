"""Builds the message and delivers it over SMTP one explicit step at a time.

The steps are run by hand (connect, EHLO, STARTTLS, AUTH, MAIL, RCPT, DATA, end of data)
rather than through ``send_message`` so that a failure is mapped by the phase it happened
in: nothing can have been delivered before the end of the message data was sent, and after
it only the relay's final reply says whether the message was accepted. Within a call's
attempt each message is traced in a span of its own (``gateway.vendor_trace``): the relay's
address, the outcome and the phase a failure happened in, never an address or any content.
"""

from __future__ import annotations

import asyncio
import email.policy
import email.utils
import enum
import re
import socket
import ssl
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from email.generator import BytesGenerator
from email.message import EmailMessage
from io import BytesIO
from pathlib import Path
from typing import Any, Literal

import aiosmtplib
from aiosmtplib import (
    SMTPAuthenticationError,
    SMTPException,
    SMTPHeloError,
    SMTPRecipientRefused,
    SMTPResponseException,
    SMTPServerDisconnected,
)
from opentelemetry.semconv.attributes.network_attributes import NETWORK_PROTOCOL_NAME
from opentelemetry.semconv.attributes.server_attributes import SERVER_ADDRESS, SERVER_PORT
from opentelemetry.util.types import AttributeValue

from gateway.contract import VendorContact
from gateway.credentials import scrub
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotConfigured,
    OutcomeUnknown,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from gateway.vendor_trace import vendor_span

from .operations import SendEmail

Security = Literal["none", "starttls", "tls"]

QUIT_TIMEOUT_S = 1.0  # the polite QUIT after a delivery never holds the result longer
_REPLY_TEXT_CHARS = 200  # how much of a relay's reply text is kept (as vendor_message)
# Replies that mean "the relay wants (other) credentials" whatever the command (RFC 4954).
_AUTH_REPLY_CODES = frozenset({530, 534, 535, 538})
_LINE_ENDINGS = re.compile(rb"\r\n|\n|\r")
_LEADING_PERIOD = re.compile(rb"(?m)^\.")


class Phase(enum.StrEnum):
    """Where in the SMTP conversation an attempt is; errors carry it as metadata."""

    CONNECT = "connect"  # TCP connect, implicit TLS handshake, the relay's greeting
    EHLO = "ehlo"
    STARTTLS = "starttls"
    AUTH = "auth"
    MAIL = "mail"
    RCPT = "rcpt"
    DATA = "data"  # the DATA command, until the relay's 354
    END_OF_DATA = "end_of_data"  # the message was sent; waiting for the relay's verdict
    NOOP = "noop"  # health probe only


@dataclass(frozen=True)
class SmtpConfig:
    """Where and how to reach the relay; built from ``EmailAccount`` by the adapter."""

    host: str
    port: int
    from_address: str  # the From header as configured, e.g. "Support <support@example.com>"
    security: Security = "starttls"
    username: str | None = None
    password: str | None = field(default=None, repr=False)
    ca_file: Path | None = None
    local_hostname: str | None = None  # the EHLO name; None: this host's FQDN

    @property
    def sender(self) -> str:
        """The envelope sender (MAIL FROM), the bare address of ``from_address``."""
        return email.utils.parseaddr(self.from_address)[1]


@dataclass(frozen=True)
class SendOutcome:
    message_id: str
    accepted: tuple[str, ...]
    refused: Mapping[str, int]  # recipients the relay refused while others were accepted

    def as_result(self) -> dict[str, Any]:
        result: dict[str, Any] = {"message_id": self.message_id, "accepted": list(self.accepted)}
        if self.refused:
            result["refused"] = dict(self.refused)
        return result


# --- the message -----------------------------------------------------------------------------


def needs_smtputf8(payload: SendEmail, from_address: str) -> bool:
    """Whether an address is non-ASCII, which only relays offering SMTPUTF8 can carry."""
    addresses = [email.utils.parseaddr(from_address)[1], *payload.to, *payload.cc, *payload.bcc]
    if payload.reply_to is not None:
        addresses.append(payload.reply_to)
    return not all(address.isascii() for address in addresses)


def message_id_domain(from_address: str) -> str:
    domain = email.utils.parseaddr(from_address)[1].rpartition("@")[2] or "localhost"
    try:
        return domain.encode("idna").decode("ascii")
    except UnicodeError:
        return "localhost"


def build_message(
    payload: SendEmail, from_address: str, *, now: datetime | None = None
) -> EmailMessage:
    """The message as recipients will see it. Bcc recipients never appear in a header."""
    utf8 = needs_smtputf8(payload, from_address)
    # 7bit: bodies are quoted-printable or base64 encoded, so no relay needs 8BITMIME for them.
    policy = (email.policy.SMTPUTF8 if utf8 else email.policy.SMTP).clone(cte_type="7bit")
    message = EmailMessage(policy=policy)
    message["From"] = from_address
    message["To"] = ", ".join(payload.to)
    if payload.cc:
        message["Cc"] = ", ".join(payload.cc)
    message["Subject"] = payload.subject
    message["Date"] = email.utils.format_datetime(now or datetime.now(UTC))
    message["Message-ID"] = email.utils.make_msgid(domain=message_id_domain(from_address))
    if payload.reply_to is not None:
        message["Reply-To"] = payload.reply_to
    if payload.in_reply_to is not None:
        message["In-Reply-To"] = payload.in_reply_to
        message["References"] = payload.in_reply_to
    if payload.text is not None:
        message.set_content(payload.text)
        if payload.html is not None:
            message.add_alternative(payload.html, subtype="html")
    elif payload.html is not None:
        message.set_content(payload.html, subtype="html")
    return message


def wire_bytes(message: EmailMessage) -> bytes:
    """The message with CRLF line endings, as it is counted for the SIZE extension."""
    buffer = BytesIO()
    BytesGenerator(buffer, policy=message.policy).flatten(message)
    data = _LINE_ENDINGS.sub(b"\r\n", buffer.getvalue())
    return data if data.endswith(b"\r\n") else data + b"\r\n"


def data_section(wire: bytes) -> bytes:
    """What follows the relay's 354: the dot-stuffed message and the end-of-data line."""
    return _LEADING_PERIOD.sub(b"..", wire) + b".\r\n"


# --- the error mapping -----------------------------------------------------------------------
#
# Messages name the phase and the reply code only. A relay's reply text can quote what it was
# sent (addresses, the subject, even credentials), so it goes to the vendor_message metadata,
# which the gateway redacts by the connector's classification, and refused addresses to the
# refused metadata; neither ever reaches a message.


def _reply_text(text: str) -> str:
    return " ".join(text.split())[:_REPLY_TEXT_CHARS]


def _with_reply(metadata: dict[str, str], text: str) -> dict[str, str]:
    reply = _reply_text(text)
    return {**metadata, "vendor_message": reply} if reply else metadata


def reply_error(phase: Phase, code: int, text: str) -> GatewayError:
    """The domain error for a negative reply to MAIL, RCPT, DATA or the end of data."""
    metadata = {"phase": str(phase), "vendor_code": str(code)}
    if code in _AUTH_REPLY_CODES:
        # The reply text is left out: a misbehaving relay might echo the credentials.
        return VendorAuthFailed(
            f"the SMTP relay requires authentication the gateway did not pass ({code})",
            metadata=metadata,
        )
    metadata = _with_reply(metadata, text)
    where = phase.upper()
    if 500 <= code <= 599:
        return VendorRejected(
            f"the SMTP relay refused the message at {where} ({code})", metadata=metadata
        )
    if 400 <= code <= 499:
        return VendorUnavailable(
            f"the SMTP relay deferred the message at {where} ({code}, temporary)",
            metadata=metadata,
        )
    if phase is Phase.END_OF_DATA:
        return OutcomeUnknown(
            f"the SMTP relay answered the delivered message with an unexpected reply ({code})",
            metadata=metadata,
        )
    return VendorUnavailable(
        f"the SMTP relay answered {where} with an unexpected reply ({code})", metadata=metadata
    )


def all_refused_error(refused: Mapping[str, SMTPRecipientRefused]) -> GatewayError:
    """Every RCPT was refused: permanent unless one refusal was temporary."""
    codes = {address: exc.code for address, exc in refused.items()}
    first = next(iter(refused.values()))
    temporary = [exc for exc in refused.values() if 400 <= exc.code <= 499]
    if temporary:
        first = temporary[0]
    error = reply_error(Phase.RCPT, first.code, first.message)
    error.message = f"no recipient was accepted; {error.message}"
    error.args = (error.message,)
    error.metadata["refused"] = ", ".join(f"{a}={c}" for a, c in codes.items())
    return error


def failure_error(exc: BaseException, phase: Phase) -> GatewayError | None:
    """The domain error for an exception raised in ``phase``; None: not an SMTP failure."""
    meta = {"phase": str(phase)}
    if isinstance(exc, TimeoutError):
        if phase is Phase.END_OF_DATA:
            return OutcomeUnknown(
                "timed out waiting for the SMTP relay to confirm the delivered message; "
                "it may or may not have been accepted",
                metadata=meta,
            )
        return DeadlineExceeded(
            f"timed out during SMTP {phase.upper()}; the message was not sent", metadata=meta
        )
    code = exc.code if isinstance(exc, SMTPResponseException) else None
    if code is not None:
        meta["vendor_code"] = str(code)
    if phase is Phase.END_OF_DATA:
        if not isinstance(exc, SMTPException | OSError):
            return None
        return OutcomeUnknown(
            "lost the connection to the SMTP relay after the message was sent and before it "
            "confirmed it; the message may or may not have been accepted",
            metadata=meta,
        )
    if isinstance(exc, SMTPAuthenticationError):
        # The reply text is left out: a misbehaving relay might echo what it was sent.
        if 400 <= exc.code <= 499:  # e.g. 454: temporary authentication failure
            return VendorUnavailable(
                f"the SMTP relay could not check the gateway's credentials now ({exc.code})",
                metadata=meta,
            )
        return VendorAuthFailed(
            f"the SMTP relay refused the gateway's credentials ({exc.code})", metadata=meta
        )
    if (
        phase is Phase.AUTH
        and isinstance(exc, SMTPException)
        and not isinstance(exc, SMTPResponseException | ConnectionError)
    ):
        return VendorAuthFailed(
            "the SMTP relay offers no authentication mechanism the gateway supports",
            metadata=meta,
        )
    if isinstance(exc, SMTPResponseException) and phase in (Phase.MAIL, Phase.RCPT, Phase.DATA):
        return reply_error(phase, exc.code, exc.message)
    if isinstance(exc, SMTPResponseException):
        return VendorUnavailable(
            f"the SMTP relay answered {phase.upper()} with {exc.code}",
            metadata=_with_reply(meta, exc.message),
        )
    if isinstance(exc, SMTPException | OSError):
        unreachable = (
            f"the SMTP relay could not be reached or dropped the connection during "
            f"{phase.upper()}; the message was not sent"
        )
        if isinstance(exc, SMTPException):
            # The SMTP library's text can hold the relay's words: metadata only.
            return VendorUnavailable(
                f"{unreachable} ({type(exc).__name__})",
                metadata={**meta, "transport_detail": _reply_text(str(exc)) or "-"},
            )
        # The operating system's or the TLS library's own words.
        return VendorUnavailable(
            f"{unreachable}: {_reply_text(str(exc)) or type(exc).__name__}", metadata=meta
        )
    return None


# --- the client ------------------------------------------------------------------------------


class Progress:
    """The phase an attempt has reached, kept outside the steps so a timeout can read it."""

    def __init__(self) -> None:
        self.phase = Phase.CONNECT


class SmtpClient:
    """One SMTP connection per attempt: a relay session is never shared between calls."""

    def __init__(self, config: SmtpConfig) -> None:
        if not config.sender or "@" not in config.sender:
            raise NotConfigured("email: from_address must contain an email address")
        self.config = config
        self._tls_context: ssl.SSLContext | None = None
        self._local_hostname = config.local_hostname
        self._open: set[aiosmtplib.SMTP] = set()

    async def prepare(self) -> None:
        """Loads the TLS trust store once (local files only, no network)."""
        if self.config.security != "none" and self._tls_context is None:
            try:
                self._tls_context = await asyncio.to_thread(self._build_tls_context)
            except (OSError, ssl.SSLError) as exc:
                raise NotConfigured(f"email: cannot load the TLS trust store: {exc}") from exc

    def _build_tls_context(self) -> ssl.SSLContext:
        context = ssl.create_default_context(ssl.Purpose.SERVER_AUTH)
        if self.config.ca_file is not None:
            context.load_verify_locations(cafile=str(self.config.ca_file))
        return context

    async def connection(self) -> aiosmtplib.SMTP:
        """An unconnected SMTP session for this relay; the caller drives and closes it."""
        await self.prepare()
        if self._local_hostname is None:
            self._local_hostname = await asyncio.to_thread(socket.getfqdn)
        smtp = aiosmtplib.SMTP(
            hostname=self.config.host,
            port=self.config.port,
            local_hostname=self._local_hostname,
            use_tls=self.config.security == "tls",
            start_tls=False,  # STARTTLS is run explicitly, and never silently skipped
            tls_context=self._tls_context,
            timeout=None,  # the caller's asyncio.timeout bounds every step
        )
        self._open.add(smtp)
        return smtp

    def release(self, smtp: aiosmtplib.SMTP) -> None:
        """Closes the connection at once, without waiting on the relay."""
        smtp.close()
        self._open.discard(smtp)

    def close_all(self) -> None:
        """Closes every connection still open (used at shutdown)."""
        for smtp in list(self._open):
            self.release(smtp)

    async def hello(self, smtp: aiosmtplib.SMTP, progress: Progress) -> None:
        """Connects and greets the relay, upgrading to TLS when configured to."""
        progress.phase = Phase.CONNECT
        await smtp.connect()
        progress.phase = Phase.EHLO
        try:
            await smtp.ehlo()
        except SMTPHeloError as exc:
            # An old relay that does not know EHLO (5xx) gets HELO, unless ESMTP is needed.
            if exc.code < 500 or self.config.security == "starttls" or self.config.username:
                raise
            await smtp.helo()
        if self.config.security == "starttls":
            progress.phase = Phase.STARTTLS
            if not smtp.supports_extension("starttls"):
                raise VendorUnavailable(
                    "the SMTP relay does not offer STARTTLS; refusing to send in plain text",
                    metadata={"phase": str(Phase.STARTTLS)},
                )
            await smtp.starttls()
            progress.phase = Phase.EHLO
            await smtp.ehlo()

    async def send(
        self,
        payload: SendEmail,
        *,
        timeout_s: float,
        now: datetime | None = None,
        contact: VendorContact | None = None,
    ) -> SendOutcome:
        """Delivers one message; raises ``GatewayError`` subclasses (see ``failure_error``).

        ``contact`` hears the moment the relay may have the whole message (the end of the
        message data is sent): before it, nothing can have been delivered."""
        message = build_message(payload, self.config.from_address, now=now)
        message_id = str(message["Message-ID"])
        wire = wire_bytes(message)
        utf8 = needs_smtputf8(payload, self.config.from_address)
        recipients = payload.envelope_recipients()

        server: dict[str, AttributeValue] = {
            SERVER_ADDRESS: self.config.host,
            SERVER_PORT: self.config.port,
            NETWORK_PROTOCOL_NAME: "smtp",
        }
        with vendor_span("SMTP send", server):
            accepted, refused = await self._deliver(wire, recipients, utf8, timeout_s, contact)
        return SendOutcome(message_id=message_id, accepted=tuple(accepted), refused=refused)

    async def _deliver(
        self,
        wire: bytes,
        recipients: Sequence[str],
        utf8: bool,
        timeout_s: float,
        contact: VendorContact | None,
    ) -> tuple[list[str], dict[str, int]]:
        """One SMTP session that delivers the message: the recipients the relay accepted
        and those it refused (by reply code) while others were accepted."""
        loop = asyncio.get_running_loop()
        deadline = loop.time() + timeout_s
        progress = Progress()
        smtp: aiosmtplib.SMTP | None = None
        delivered = False
        try:
            async with asyncio.timeout_at(deadline):
                smtp = await self.connection()
                accepted, refused = await self._transaction(
                    smtp, wire, recipients, utf8, progress, contact
                )
            delivered = True
            await self._quit(smtp, deadline)
        except GatewayError as exc:
            raise scrub(exc, [self.config.password]) from None
        except Exception as exc:
            error = failure_error(exc, progress.phase)
            if error is None:
                raise
            cause = None if progress.phase is Phase.AUTH else exc
            raise scrub(error, [self.config.password]) from cause
        finally:
            if not delivered and smtp is not None:
                self.release(smtp)  # at once: quit() would wait on a relay that may be stalled
        return accepted, refused

    async def _transaction(
        self,
        smtp: aiosmtplib.SMTP,
        wire: bytes,
        recipients: Sequence[str],
        utf8: bool,
        progress: Progress,
        contact: VendorContact | None,
    ) -> tuple[list[str], dict[str, int]]:
        await self.hello(smtp, progress)
        if self.config.username:
            progress.phase = Phase.AUTH
            await smtp.login(self.config.username, self.config.password or "")

        progress.phase = Phase.MAIL
        options: list[str] = []
        if smtp.supports_extension("size"):
            options.append(f"SIZE={len(wire)}")
        if utf8:
            if not smtp.supports_extension("smtputf8"):
                raise VendorRejected(
                    "an address is not ASCII and the SMTP relay does not offer SMTPUTF8",
                    metadata={"phase": str(Phase.MAIL)},
                )
            options.append("SMTPUTF8")
            if smtp.supports_extension("8bitmime"):
                options.append("BODY=8BITMIME")
        encoding = "utf-8" if utf8 else "ascii"
        await smtp.mail(self.config.sender, options=options, encoding=encoding)

        progress.phase = Phase.RCPT
        accepted: list[str] = []
        refused: dict[str, SMTPRecipientRefused] = {}
        for recipient in recipients:
            try:
                await smtp.rcpt(recipient, encoding=encoding)
            except SMTPRecipientRefused as exc:
                refused[recipient] = exc
            else:
                accepted.append(recipient)
        if not accepted:
            raise all_refused_error(refused)

        progress.phase = Phase.DATA
        reply = await smtp.execute_command(b"DATA")
        if reply.code != 354:
            raise reply_error(Phase.DATA, reply.code, reply.message)
        protocol = smtp.protocol
        if protocol is None:
            raise SMTPServerDisconnected("Connection lost")

        # From here on the relay may have the whole message: only its reply tells.
        progress.phase = Phase.END_OF_DATA
        if contact is not None:
            contact.may_have_acted()
        protocol.write(data_section(wire))
        reply = await protocol.read_response(timeout=None)
        if reply.code != 250:
            raise reply_error(Phase.END_OF_DATA, reply.code, reply.message)
        return accepted, {address: exc.code for address, exc in refused.items()}

    async def _quit(self, smtp: aiosmtplib.SMTP, deadline: float) -> None:
        """Says goodbye without holding the result: bounded, and any failure is ignored."""
        budget = min(QUIT_TIMEOUT_S, deadline - asyncio.get_running_loop().time())
        try:
            if budget > 0:
                async with asyncio.timeout(budget):
                    await smtp.quit()
        except (TimeoutError, SMTPException, OSError):
            pass
        finally:
            self.release(smtp)
