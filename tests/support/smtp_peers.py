"""Real SMTP peers on 127.0.0.1 for tests of the email connector and of the gateway around it.

Two kinds:

* ``recording_smtp_server`` runs aiosmtpd (a real SMTP server, in its own thread) and records
  every accepted message as a ``ReceivedMessage``. Options: refuse some recipients with a
  given reply, require AUTH with given credentials, offer STARTTLS or speak implicit TLS.
* ``scripted_smtp_server`` is a plain ``asyncio.start_server`` in the test's own event loop
  speaking just enough SMTP to misbehave on purpose: stop answering (``hang_at``), drop the
  connection (``disconnect_at``) or answer a step with a chosen reply (``replies``). It
  records on the server side when the client closed the connection.

Each has pytest fixtures below (``smtp_server``, ``auth_smtp_server``, ``stalled_smtp_server``,
``hang_after_data_server``); ``tests/adapters/conftest.py`` makes them available to the tests
in this directory, and other test packages can import them the same way.
"""

from __future__ import annotations

import asyncio
import contextlib
import email
import email.policy
import socket
import ssl
from collections.abc import AsyncIterator, Iterator, Mapping
from dataclasses import dataclass, field
from email.message import EmailMessage
from typing import Any, Literal

import pytest
from aiosmtpd.controller import Controller
from aiosmtpd.smtp import SMTP as SMTPServer
from aiosmtpd.smtp import AuthResult, Envelope, LoginPassword, Session

from adapters.email.account import EmailAccount

HOST = "127.0.0.1"
FROM_ADDRESS = "Gateway <gateway@example.com>"
AUTH_USER = "gateway-user"
AUTH_PASSWORD = "correct horse battery staple"


def free_port(host: str = HOST) -> int:
    """A TCP port nothing listens on right now (the OS picks it; another process could
    take it before it is used, which the servers here retry around)."""
    with socket.socket(socket.AF_INET, socket.SOCK_STREAM) as sock:
        sock.bind((host, 0))
        return int(sock.getsockname()[1])


# --- aiosmtpd: a real server that records what it accepted ------------------------------------


@dataclass(frozen=True)
class ReceivedMessage:
    """One message as the server received it: envelope, raw data and who logged in."""

    mail_from: str
    rcpt_tos: tuple[str, ...]
    data: bytes
    auth_login: str | None = None

    @property
    def message(self) -> EmailMessage:
        """The message parsed, with local line endings as a mail store would keep it."""
        local = self.data.replace(b"\r\n", b"\n")
        return email.message_from_bytes(local, policy=email.policy.default)


class RecordingHandler:
    """aiosmtpd handler: refuses the recipients in ``refuse`` with their reply, records the
    rest. ``refuse`` maps an address to a full reply line, e.g. ``"550 no such user"``."""

    def __init__(self, refuse: Mapping[str, str] | None = None) -> None:
        self.refuse = {address.lower(): reply for address, reply in (refuse or {}).items()}
        self.messages: list[ReceivedMessage] = []

    async def handle_RCPT(
        self,
        server: SMTPServer,
        session: Session,
        envelope: Envelope,
        address: str,
        rcpt_options: list[str],
    ) -> str:
        reply = self.refuse.get(address.lower())
        if reply is not None:
            return reply
        envelope.rcpt_tos.append(address)
        return "250 OK"

    async def handle_DATA(self, server: SMTPServer, session: Session, envelope: Envelope) -> str:
        content = envelope.original_content or b""
        self.messages.append(
            ReceivedMessage(
                mail_from=envelope.mail_from or "",
                rcpt_tos=tuple(envelope.rcpt_tos),
                data=content,
                auth_login=session.auth_data if isinstance(session.auth_data, str) else None,
            )
        )
        return "250 2.0.0 Message accepted for delivery"


def _authenticator(username: str, password: str) -> Any:
    def authenticate(
        server: SMTPServer, session: Session, envelope: Envelope, mechanism: str, auth_data: Any
    ) -> AuthResult:
        if isinstance(auth_data, LoginPassword) and (
            auth_data.login.decode() == username and auth_data.password.decode() == password
        ):
            return AuthResult(success=True, auth_data=username)
        return AuthResult(success=False, handled=False)

    return authenticate


@dataclass
class SmtpPeer:
    """A running recording server."""

    host: str
    port: int
    handler: RecordingHandler

    @property
    def messages(self) -> list[ReceivedMessage]:
        return self.handler.messages

    def settings(self, **overrides: Any) -> EmailAccount:
        """EmailAccount pointing at this server: plain SMTP, no login, unless overridden."""
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "from_address": FROM_ADDRESS,
        }
        values.update(overrides)
        return EmailAccount(**values)


@contextlib.contextmanager
def recording_smtp_server(
    *,
    refuse: Mapping[str, str] | None = None,
    auth: tuple[str, str] | None = None,
    starttls_context: ssl.SSLContext | None = None,
    implicit_tls_context: ssl.SSLContext | None = None,
) -> Iterator[SmtpPeer]:
    """Runs aiosmtpd on 127.0.0.1 until the block ends.

    ``auth=(user, password)`` requires AUTH (PLAIN/LOGIN, allowed without TLS) before MAIL;
    ``starttls_context`` offers STARTTLS with that server context; ``implicit_tls_context``
    makes the whole connection TLS from the first byte.
    """
    handler = RecordingHandler(refuse)
    kwargs: dict[str, Any] = {}
    if auth is not None:
        kwargs.update(
            auth_required=True,
            auth_require_tls=False,
            authenticator=_authenticator(*auth),
        )
    if starttls_context is not None:
        kwargs["tls_context"] = starttls_context
    controller: Controller | None = None
    for _ in range(5):  # free_port() can race with another process binding the port
        port = free_port()
        candidate = Controller(
            handler,
            hostname=HOST,
            port=port,
            ssl_context=implicit_tls_context,
            ready_timeout=3.0,
            **kwargs,
        )
        try:
            candidate.start()
        except OSError:
            continue
        controller = candidate
        break
    if controller is None:
        raise RuntimeError("could not start the SMTP test server on a free port")
    try:
        yield SmtpPeer(HOST, port, handler)
    finally:
        controller.stop()


# --- a scripted asyncio server that misbehaves on purpose -------------------------------------

# Where a scripted peer can hang, drop the connection or give its own reply: the greeting,
# a command (by its verb), or "end_of_data" (after the message data and its final dot).
Step = Literal[
    "greeting", "EHLO", "HELO", "AUTH", "MAIL", "RCPT", "DATA", "end_of_data", "NOOP", "QUIT"
]

_DEFAULT_REPLIES: dict[str, str] = {
    "greeting": "220 scripted.test ESMTP ready",
    "EHLO": "250-scripted.test\r\n250-8BITMIME\r\n250 SIZE 10485760",
    "HELO": "250 scripted.test",
    "MAIL": "250 2.1.0 OK",
    "RCPT": "250 2.1.5 OK",
    "DATA": "354 End data with <CR><LF>.<CR><LF>",
    "end_of_data": "250 2.0.0 OK queued",
    "NOOP": "250 2.0.0 OK",
    "RSET": "250 2.0.0 OK",
    "QUIT": "221 2.0.0 Bye",
}


@dataclass
class ScriptedSmtpPeer:
    """What a scripted server saw. Events and times are in the test's event loop."""

    host: str
    port: int
    hang_at: Step | None = None
    disconnect_at: Step | None = None
    replies: Mapping[str, str] = field(default_factory=dict)
    commands: list[str] = field(default_factory=list)  # command lines received, in order
    data: bytes = b""  # the message data of the last DATA, without the final dot line
    connections: int = 0
    connected: asyncio.Event = field(default_factory=asyncio.Event)
    data_received: asyncio.Event = field(default_factory=asyncio.Event)  # full data + dot
    closed: asyncio.Event = field(default_factory=asyncio.Event)  # the connection ended
    closed_at: float | None = None  # loop.time() when the connection ended

    def settings(self, **overrides: Any) -> EmailAccount:
        values: dict[str, Any] = {
            "host": self.host,
            "port": self.port,
            "security": "none",
            "from_address": FROM_ADDRESS,
        }
        values.update(overrides)
        return EmailAccount(**values)

    async def wait_closed(self, timeout_s: float = 1.0) -> float:
        """Waits until the client closed the connection; returns loop.time() of that."""
        async with asyncio.timeout(timeout_s):
            await self.closed.wait()
        assert self.closed_at is not None
        return self.closed_at

    # -- the conversation --

    async def _step(self, step: str, writer: asyncio.StreamWriter) -> bool:
        """Answers ``step``; False when the script says to stop answering."""
        if step == self.disconnect_at:
            writer.transport.abort()
            return False
        if step == self.hang_at:
            return False
        writer.write(self.replies.get(step, _DEFAULT_REPLIES.get(step, "502 5.5.1 ?")).encode())
        writer.write(b"\r\n")
        await writer.drain()
        return True

    async def _converse(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        if not await self._step("greeting", writer):
            return
        while line := await reader.readline():
            command = line.decode("utf-8", "replace").rstrip("\r\n")
            self.commands.append(command)
            verb = command.split(" ", 1)[0].upper()
            if not await self._step(verb, writer):
                return
            if verb == "QUIT":
                return
            if verb == "DATA" and self.replies.get("DATA", "354").startswith("354"):
                chunks: list[bytes] = []
                while (chunk := await reader.readline()) not in (b".\r\n", b""):
                    chunks.append(chunk)
                self.data = b"".join(chunks)
                self.data_received.set()
                if not await self._step("end_of_data", writer):
                    return

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        self.connections += 1
        self.connected.set()
        try:
            await self._converse(reader, writer)
            # Hanging (or after QUIT): keep reading until the client goes away.
            while await reader.read(4096):
                pass
        except (ConnectionError, OSError):
            pass
        finally:
            self.closed_at = asyncio.get_running_loop().time()
            self.closed.set()
            writer.close()


@contextlib.asynccontextmanager
async def scripted_smtp_server(
    *,
    hang_at: Step | None = None,
    disconnect_at: Step | None = None,
    replies: Mapping[str, str] | None = None,
) -> AsyncIterator[ScriptedSmtpPeer]:
    """A plain asyncio SMTP server on 127.0.0.1 that follows the script.

    ``hang_at="greeting"`` accepts TCP and never says a word; ``hang_at="end_of_data"``
    takes the whole message and never answers it; ``replies={"MAIL": "451 4.3.0 later"}``
    answers MAIL with that line (multi-line replies use "\\r\\n" between lines).
    """
    peer = ScriptedSmtpPeer(HOST, 0, hang_at, disconnect_at, dict(replies or {}))
    conversations: dict[asyncio.Task[Any], asyncio.StreamWriter] = {}

    async def on_connect(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        task = asyncio.current_task()
        if task is not None:
            conversations[task] = writer
        await peer.handle(reader, writer)

    server = await asyncio.start_server(on_connect, HOST, 0)
    peer.port = int(server.sockets[0].getsockname()[1])
    try:
        yield peer
    finally:
        server.close()
        # Drop the connections still open, so that every conversation ends on its own.
        for writer in conversations.values():
            writer.transport.abort()
        if conversations:
            _, pending = await asyncio.wait(conversations, timeout=1.0)
            for task in pending:
                task.cancel()
        await server.wait_closed()


# --- pytest fixtures ---------------------------------------------------------------------------


@pytest.fixture
def smtp_server() -> Iterator[SmtpPeer]:
    """A recording aiosmtpd server without AUTH or TLS."""
    with recording_smtp_server() as peer:
        yield peer


@pytest.fixture
def auth_smtp_server() -> Iterator[SmtpPeer]:
    """A recording aiosmtpd server requiring AUTH as AUTH_USER / AUTH_PASSWORD."""
    with recording_smtp_server(auth=(AUTH_USER, AUTH_PASSWORD)) as peer:
        yield peer


@pytest.fixture
async def stalled_smtp_server() -> AsyncIterator[ScriptedSmtpPeer]:
    """Accepts TCP connections and never sends a greeting; records when the client left."""
    async with scripted_smtp_server(hang_at="greeting") as peer:
        yield peer


@pytest.fixture
async def hang_after_data_server() -> AsyncIterator[ScriptedSmtpPeer]:
    """Takes the whole message (through the final dot) and never answers it."""
    async with scripted_smtp_server(hang_at="end_of_data") as peer:
        yield peer
