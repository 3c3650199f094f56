"""The email connector against real SMTP peers on 127.0.0.1 (see tests/support/smtp_peers.py)."""

from __future__ import annotations

import asyncio
import re
import ssl
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.email.account import EmailAccount
from adapters.email.adapter import EmailAdapter
from adapters.email.client import build_message, wire_bytes
from adapters.email.metadata import EMAIL_METADATA
from adapters.email.operations import SendEmail
from gateway.contract import Adapter, AttemptContext, Idempotency, PolicyClass
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotCompensable,
    NotConfigured,
    OutcomeUnknown,
    ShuttingDown,
    UnknownOperation,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from tests.support.pki import ServerFiles, write_server_files
from tests.support.smtp_peers import (
    AUTH_PASSWORD,
    AUTH_USER,
    ScriptedSmtpPeer,
    SmtpPeer,
    free_port,
    recording_smtp_server,
    scripted_smtp_server,
)
from tests.support.vendor_adapters import attempt
from tests.support.waiting import wait_event

pytestmark = [
    pytest.mark.timeout(5),
    # The AUTH test server allows AUTH without TLS on purpose (127.0.0.1 only).
    pytest.mark.filterwarnings("ignore:Requiring AUTH while not requiring TLS:UserWarning"),
]

EHLO_NAME = "gateway.test"
# Room for scheduling on a loaded machine in the time bounds below; every wait they rule out
# (a connection never closed, a deadline not applied) is far longer.
SLACK_S = 2.0


def ctx(timeout_s: float = 2.0) -> AttemptContext:
    return attempt(timeout_s=timeout_s)


def payload(**overrides: Any) -> SendEmail:
    values: dict[str, Any] = {
        "to": ["alice@example.com"],
        "subject": "Your order has shipped",
        "text": "Hello Alice,\nyour order is on its way.\n",
    }
    values.update(overrides)
    return SendEmail.model_validate(values)


async def adapter_for(settings: EmailAccount, **kwargs: Any) -> EmailAdapter:
    adapter = EmailAdapter(settings, local_hostname=EHLO_NAME, **kwargs)
    await adapter.initialize()
    return adapter


async def send(adapter: EmailAdapter, timeout_s: float = 2.0, **overrides: Any) -> Any:
    return await adapter.execute("send", payload(**overrides), ctx(timeout_s))


def gateway_keys(error: GatewayError) -> dict[str, str]:
    """The metadata without the SMTP library's own text, which only says what broke."""
    return {k: v for k, v in error.metadata.items() if k != "transport_detail"}


# --- delivery --------------------------------------------------------------------------------


async def test_delivers_headers_body_and_hides_bcc(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    result = await send(
        adapter,
        to=["alice@example.com", "bob@example.com"],
        cc=["carol@example.com"],
        bcc=["dave@example.com"],
        reply_to="support@example.com",
        in_reply_to="<thread-1@mail.example.com>",
    )

    assert len(smtp_server.messages) == 1
    received = smtp_server.messages[0]
    assert received.mail_from == "gateway@example.com"
    assert received.rcpt_tos == (
        "alice@example.com",
        "bob@example.com",
        "carol@example.com",
        "dave@example.com",
    )
    message = received.message
    assert message["From"] == "Gateway <gateway@example.com>"
    assert message["To"] == "alice@example.com, bob@example.com"
    assert message["Cc"] == "carol@example.com"
    assert message["Bcc"] is None
    assert b"dave@example.com" not in received.data
    assert message["Subject"] == "Your order has shipped"
    assert message["Reply-To"] == "support@example.com"
    assert message["In-Reply-To"] == "<thread-1@mail.example.com>"
    assert message["References"] == "<thread-1@mail.example.com>"
    assert message["Date"] is not None
    assert message.get_content_type() == "text/plain"
    assert message.get_content() == "Hello Alice,\nyour order is on its way.\n"
    assert re.fullmatch(r"<[^<>@\s]+@example\.com>", message["Message-ID"])
    assert result == {
        "message_id": message["Message-ID"],
        "accepted": [
            "alice@example.com",
            "bob@example.com",
            "carol@example.com",
            "dave@example.com",
        ],
    }


async def test_text_and_html_go_as_multipart_alternative(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    await send(adapter, text="Plain body ✓", html="<p>HTML body ✓</p>", subject="Grüße")

    message = smtp_server.messages[0].message
    assert message.get_content_type() == "multipart/alternative"
    parts = list(message.iter_parts())
    assert [part.get_content_type() for part in parts] == ["text/plain", "text/html"]
    assert parts[0].get_content().strip() == "Plain body ✓"
    assert parts[1].get_content().strip() == "<p>HTML body ✓</p>"
    assert message["Subject"] == "Grüße"
    # non-ASCII travels encoded, so the relay needs no 8BITMIME
    assert smtp_server.messages[0].data.isascii()


async def test_html_only_body(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    await send(adapter, text=None, html="<b>only html</b>")

    message = smtp_server.messages[0].message
    assert message.get_content_type() == "text/html"
    assert message.get_content().strip() == "<b>only html</b>"


async def test_lines_starting_with_a_dot_survive(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    await send(adapter, text="first\n.\n..second\n")

    assert smtp_server.messages[0].message.get_content() == "first\n.\n..second\n"


async def test_partial_refusal_reports_refused_recipients() -> None:
    with recording_smtp_server(refuse={"ghost@example.com": "550 no such user"}) as server:
        adapter = await adapter_for(server.settings())

        result = await send(adapter, to=["alice@example.com", "ghost@example.com"])

    assert result["accepted"] == ["alice@example.com"]
    assert result["refused"] == {"ghost@example.com": 550}
    assert server.messages[0].rcpt_tos == ("alice@example.com",)


async def test_non_ascii_address_uses_smtputf8(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    result = await send(adapter, to=["جميل@example.com"])

    assert result["accepted"] == ["جميل@example.com"]
    assert smtp_server.messages[0].rcpt_tos == ("جميل@example.com",)
    assert smtp_server.messages[0].message["To"] == "جميل@example.com"


async def test_non_ascii_address_refused_by_relay_without_smtputf8() -> None:
    async with scripted_smtp_server() as peer:
        adapter = await adapter_for(peer.settings())

        with pytest.raises(VendorRejected) as caught:
            await send(adapter, to=["جميل@example.com"])

    assert caught.value.metadata == {"phase": "mail"}
    assert not any(command.startswith("MAIL") for command in peer.commands)


async def test_conversation_is_explicit_and_ends_with_quit() -> None:
    async with scripted_smtp_server() as peer:
        adapter = await adapter_for(peer.settings())

        await send(adapter, bcc=["dave@example.com"])
        await peer.wait_closed(timeout_s=SLACK_S)

    size = re.fullmatch(r"MAIL FROM:<gateway@example\.com> SIZE=(\d+)", peer.commands[1])
    assert size is not None
    assert peer.commands == [
        f"EHLO {EHLO_NAME}",
        f"MAIL FROM:<gateway@example.com> SIZE={size[1]}",
        "RCPT TO:<alice@example.com>",
        "RCPT TO:<dave@example.com>",
        "DATA",
        "QUIT",
    ]
    # SIZE counts the data as sent (CRLF lines), before dot-stuffing and the final dot
    assert int(size[1]) == len(peer.data)


async def test_stalled_quit_does_not_hold_the_result() -> None:
    async with scripted_smtp_server(hang_at="QUIT") as peer:
        adapter = await adapter_for(peer.settings())
        loop = asyncio.get_running_loop()
        started = loop.time()

        result = await send(adapter, timeout_s=0.5)

        assert loop.time() - started < 0.5 + SLACK_S  # the attempt's deadline, not the relay
        await peer.wait_closed(timeout_s=SLACK_S)
    assert result["accepted"] == ["alice@example.com"]
    assert peer.commands[-1] == "QUIT"


# --- authentication --------------------------------------------------------------------------


async def test_login_then_delivery(auth_smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(
        auth_smtp_server.settings(username=AUTH_USER, password=AUTH_PASSWORD)
    )

    result = await send(adapter)

    assert result["accepted"] == ["alice@example.com"]
    assert auth_smtp_server.messages[0].auth_login == AUTH_USER


async def test_password_is_read_from_password_file(
    auth_smtp_server: SmtpPeer, tmp_path: Path
) -> None:
    secret = tmp_path / "smtp-password"
    secret.write_text(AUTH_PASSWORD + "\n", encoding="utf-8")
    adapter = await adapter_for(auth_smtp_server.settings(username=AUTH_USER, password_file=secret))

    await send(adapter)

    assert auth_smtp_server.messages[0].auth_login == AUTH_USER


async def test_wrong_password_is_vendor_auth_failed_without_the_password(
    auth_smtp_server: SmtpPeer,
) -> None:
    wrong = "Wr0ng-Pa55word-zebra"
    adapter = await adapter_for(auth_smtp_server.settings(username=AUTH_USER, password=wrong))

    with pytest.raises(VendorAuthFailed) as caught:
        await send(adapter)

    error = caught.value
    assert error.metadata == {"phase": "auth", "vendor_code": "535"}
    assert not error.retryable
    for text in (str(error), repr(error), error.message, *error.metadata.values()):
        assert wrong not in text
    assert error.__cause__ is None
    assert auth_smtp_server.messages == []


async def test_relay_requiring_auth_without_login_is_vendor_auth_failed(
    auth_smtp_server: SmtpPeer,
) -> None:
    adapter = await adapter_for(auth_smtp_server.settings())

    with pytest.raises(VendorAuthFailed) as caught:
        await send(adapter)

    assert caught.value.metadata == {"phase": "mail", "vendor_code": "530"}


AUTH_EHLO = "250-scripted.test\r\n250 AUTH PLAIN"


@pytest.mark.parametrize(
    ("script", "error_class", "metadata"),
    [
        # the relay offers no AUTH at all: an operator must fix the configuration
        ({}, VendorAuthFailed, {"phase": "auth"}),
        (
            {"replies": {"EHLO": AUTH_EHLO, "AUTH": "454 4.7.0 temporary failure"}},
            VendorUnavailable,
            {"phase": "auth", "vendor_code": "454"},
        ),
        (
            {"replies": {"EHLO": AUTH_EHLO}, "disconnect_at": "AUTH"},
            VendorUnavailable,
            {"phase": "auth"},
        ),
    ],
)
async def test_auth_failures_other_than_wrong_credentials(
    script: dict[str, Any], error_class: type[GatewayError], metadata: dict[str, str]
) -> None:
    async with scripted_smtp_server(**script) as peer:
        adapter = await adapter_for(peer.settings(username=AUTH_USER, password=AUTH_PASSWORD))

        with pytest.raises(error_class) as caught:
            await send(adapter)

    assert type(caught.value) is error_class
    assert gateway_keys(caught.value) == metadata
    assert AUTH_PASSWORD not in str(caught.value)
    assert not any(command.startswith("MAIL") for command in peer.commands)


# --- the relay unavailable, slow or refusing --------------------------------------------------


async def test_connection_refused_is_vendor_unavailable() -> None:
    settings = EmailAccount(
        host="127.0.0.1", port=free_port(), security="none", from_address="gw@example.com"
    )
    adapter = await adapter_for(settings)

    with pytest.raises(VendorUnavailable) as caught:
        await send(adapter)

    assert gateway_keys(caught.value) == {"phase": "connect"}
    assert caught.value.retryable


async def test_stalled_relay_is_deadline_exceeded_and_closed_at_once(
    stalled_smtp_server: ScriptedSmtpPeer,
) -> None:
    adapter = await adapter_for(stalled_smtp_server.settings())
    loop = asyncio.get_running_loop()
    started = loop.time()

    with pytest.raises(DeadlineExceeded) as caught:
        await send(adapter, timeout_s=0.3)
    raised_at = loop.time()

    assert caught.value.metadata == {"phase": "connect"}
    assert 0.25 <= raised_at - started < 0.3 + SLACK_S
    closed_at = await stalled_smtp_server.wait_closed(timeout_s=SLACK_S)
    assert closed_at - raised_at < SLACK_S
    assert stalled_smtp_server.connections == 1
    assert stalled_smtp_server.commands == []


async def test_cancelled_attempt_closes_the_connection_at_once(
    stalled_smtp_server: ScriptedSmtpPeer,
) -> None:
    adapter = await adapter_for(stalled_smtp_server.settings())
    attempt = asyncio.create_task(send(adapter, timeout_s=60.0))
    await wait_event(stalled_smtp_server.connected, timeout_s=SLACK_S, what="the connection")

    attempt.cancel()
    with pytest.raises(asyncio.CancelledError):
        await attempt
    cancelled_at = asyncio.get_running_loop().time()

    closed_at = await stalled_smtp_server.wait_closed(timeout_s=SLACK_S)
    assert closed_at - cancelled_at < SLACK_S


async def test_hang_after_data_is_outcome_unknown(
    hang_after_data_server: ScriptedSmtpPeer,
) -> None:
    adapter = await adapter_for(hang_after_data_server.settings())

    with pytest.raises(OutcomeUnknown) as caught:
        await send(adapter, timeout_s=0.5)

    assert caught.value.metadata == {"phase": "end_of_data"}
    assert not caught.value.retryable
    assert hang_after_data_server.data_received.is_set()
    assert b"Subject: Your order has shipped" in hang_after_data_server.data
    await hang_after_data_server.wait_closed(timeout_s=SLACK_S)


async def test_disconnect_after_data_is_outcome_unknown() -> None:
    async with scripted_smtp_server(disconnect_at="end_of_data") as peer:
        adapter = await adapter_for(peer.settings())

        with pytest.raises(OutcomeUnknown) as caught:
            await send(adapter)

    assert caught.value.metadata == {"phase": "end_of_data"}


async def test_disconnect_before_data_is_vendor_unavailable() -> None:
    async with scripted_smtp_server(disconnect_at="RCPT") as peer:
        adapter = await adapter_for(peer.settings())

        with pytest.raises(VendorUnavailable) as caught:
            await send(adapter)

    assert gateway_keys(caught.value) == {"phase": "rcpt"}
    assert not peer.data_received.is_set()


@pytest.mark.parametrize(
    ("hang_at", "phase"),
    [("EHLO", "ehlo"), ("MAIL", "mail"), ("RCPT", "rcpt"), ("DATA", "data")],
)
async def test_timeout_before_the_data_is_sent_is_deadline_exceeded(
    hang_at: Any, phase: str
) -> None:
    async with scripted_smtp_server(hang_at=hang_at) as peer:
        adapter = await adapter_for(peer.settings())

        with pytest.raises(DeadlineExceeded) as caught:
            await send(adapter, timeout_s=0.3)

        assert caught.value.metadata == {"phase": phase}
        await peer.wait_closed(timeout_s=SLACK_S)
    assert not peer.data_received.is_set()


async def test_all_recipients_refused_is_vendor_rejected() -> None:
    refuse = {"ghost@example.com": "550 no such user", "nobody@example.com": "550 no such user"}
    with recording_smtp_server(refuse=refuse) as server:
        adapter = await adapter_for(server.settings())

        with pytest.raises(VendorRejected) as caught:
            await send(adapter, to=["ghost@example.com"], cc=["nobody@example.com"])

    error = caught.value
    assert error.metadata == {
        "phase": "rcpt",
        "vendor_code": "550",
        "vendor_message": "no such user",
        "refused": "ghost@example.com=550, nobody@example.com=550",
    }
    # The relay's words and the addresses stay in the metadata, which the gateway redacts.
    assert error.message == (
        "no recipient was accepted; the SMTP relay refused the message at RCPT (550)"
    )
    assert not error.retryable
    assert server.messages == []


async def test_temporary_refusal_of_all_recipients_is_vendor_unavailable() -> None:
    with recording_smtp_server(refuse={"busy@example.com": "450 4.2.1 mailbox busy"}) as server:
        adapter = await adapter_for(server.settings())

        with pytest.raises(VendorUnavailable) as caught:
            await send(adapter, to=["busy@example.com"])

    assert caught.value.metadata["vendor_code"] == "450"


@pytest.mark.parametrize(
    ("replies", "error_class", "metadata"),
    [
        ({"MAIL": "451 4.3.0 try again later"}, VendorUnavailable, ("mail", "451")),
        ({"MAIL": "553 5.7.1 sender not allowed"}, VendorRejected, ("mail", "553")),
        ({"DATA": "554 5.5.1 no valid recipients"}, VendorRejected, ("data", "554")),
        ({"DATA": "421 4.3.2 shutting down"}, VendorUnavailable, ("data", "421")),
        ({"end_of_data": "552 5.3.4 message too big"}, VendorRejected, ("end_of_data", "552")),
        ({"end_of_data": "451 4.7.1 greylisted"}, VendorUnavailable, ("end_of_data", "451")),
        ({"greeting": "554 5.7.1 go away"}, VendorUnavailable, ("connect", "554")),
        ({"EHLO": "421 4.3.2 too busy"}, VendorUnavailable, ("ehlo", "421")),
    ],
)
async def test_relay_replies_map_to_domain_errors(
    replies: dict[str, str], error_class: type[GatewayError], metadata: tuple[str, str]
) -> None:
    async with scripted_smtp_server(replies=replies) as peer:
        adapter = await adapter_for(peer.settings())

        with pytest.raises(error_class) as caught:
            await send(adapter)

    phase, code = metadata
    [reply] = replies.values()
    text = reply.split(" ", 1)[1]
    assert type(caught.value) is error_class
    assert caught.value.metadata == {"phase": phase, "vendor_code": code, "vendor_message": text}
    assert text not in caught.value.message


async def test_starttls_required_but_not_offered_sends_nothing(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings(security="starttls"))

    with pytest.raises(VendorUnavailable) as caught:
        await send(adapter)

    assert caught.value.metadata == {"phase": "starttls"}
    assert "STARTTLS" in caught.value.message
    assert smtp_server.messages == []


# --- TLS -------------------------------------------------------------------------------------


@pytest.fixture(scope="module")
def tls_files(tmp_path_factory: pytest.TempPathFactory) -> ServerFiles:
    """A server certificate for 127.0.0.1 issued by a private CA."""
    return write_server_files(tmp_path_factory.mktemp("tls"))


def server_context(tls_files: ServerFiles) -> ssl.SSLContext:
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.load_cert_chain(tls_files.cert_file, tls_files.key_file)
    return context


async def test_starttls_with_private_ca(tls_files: ServerFiles) -> None:
    with recording_smtp_server(starttls_context=server_context(tls_files)) as server:
        adapter = await adapter_for(server.settings(security="starttls", ca_file=tls_files.ca_file))

        result = await send(adapter)

    assert result["accepted"] == ["alice@example.com"]
    assert len(server.messages) == 1


async def test_implicit_tls_with_private_ca(tls_files: ServerFiles) -> None:
    with recording_smtp_server(implicit_tls_context=server_context(tls_files)) as server:
        adapter = await adapter_for(server.settings(security="tls", ca_file=tls_files.ca_file))

        result = await send(adapter)
        probe = await adapter.health_check()

    assert result["accepted"] == ["alice@example.com"]
    assert probe.ok


async def test_untrusted_certificate_is_vendor_unavailable(tls_files: ServerFiles) -> None:
    with recording_smtp_server(starttls_context=server_context(tls_files)) as server:
        adapter = await adapter_for(server.settings(security="starttls"))

        with pytest.raises(VendorUnavailable) as caught:
            await send(adapter)

    assert caught.value.metadata == {"phase": "starttls"}
    assert "certificate verify failed" in caught.value.message
    assert server.messages == []


# --- health probe ----------------------------------------------------------------------------


async def test_probe_ok(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    result = await adapter.health_check()

    assert result.ok
    assert result.detail == f"127.0.0.1:{smtp_server.port} (none): ready (250 to NOOP)"
    assert smtp_server.messages == []


async def test_probe_connection_refused() -> None:
    port = free_port()
    adapter = await adapter_for(
        EmailAccount(
            host="127.0.0.1",
            port=port,
            security="none",
            from_address="gw@example.com",
            username=AUTH_USER,
            password=AUTH_PASSWORD,
        )
    )

    result = await adapter.health_check()

    assert not result.ok
    assert result.detail.startswith(f"127.0.0.1:{port} (none): connect failed:")
    assert AUTH_PASSWORD not in result.detail


async def test_probe_of_stalled_relay_times_out(stalled_smtp_server: ScriptedSmtpPeer) -> None:
    adapter = await adapter_for(stalled_smtp_server.settings(), probe_timeout_s=0.3)

    result = await adapter.health_check()

    assert not result.ok
    assert result.detail.endswith("timed out after 0.3s at connect")
    await stalled_smtp_server.wait_closed(timeout_s=SLACK_S)


async def test_probe_sends_ehlo_and_noop_only() -> None:
    async with scripted_smtp_server() as peer:
        adapter = await adapter_for(peer.settings())

        result = await adapter.health_check()
        await peer.wait_closed(timeout_s=SLACK_S)

    assert result.ok
    assert peer.commands == [f"EHLO {EHLO_NAME}", "NOOP"]


# --- the adapter's lifecycle -----------------------------------------------------------------


async def test_adapter_satisfies_the_contract() -> None:
    adapter = EmailAdapter(EmailAccount())

    assert isinstance(adapter, Adapter)
    assert adapter.metadata is EMAIL_METADATA
    EMAIL_METADATA.validate()
    spec = EMAIL_METADATA.operation("send")
    assert spec is not None
    assert spec.payload_model is SendEmail
    assert spec.policy_class is PolicyClass.B
    assert spec.idempotency is Idempotency.GATEWAY
    assert spec.compensation is None
    assert EMAIL_METADATA.audit_event_types == ("message_failed", "message_sent")
    assert EMAIL_METADATA.timeout_ms == 10_000


async def test_not_configured_refuses_to_send() -> None:
    adapter = EmailAdapter(EmailAccount(host="smtp.example.com"))
    await adapter.initialize()

    assert not adapter.configured
    with pytest.raises(NotConfigured):
        await send(adapter)
    probe = await adapter.health_check()
    assert not probe.ok
    assert probe.detail == "not configured: host and from_address are required"


async def test_configured_needs_host_and_from_address() -> None:
    assert not EmailAdapter(EmailAccount(from_address="gw@example.com")).configured
    assert EmailAdapter(
        EmailAccount(host="smtp.example.com", from_address="gw@example.com")
    ).configured


async def test_unreadable_password_file_is_not_configured(tmp_path: Path) -> None:
    adapter = EmailAdapter(
        EmailAccount(
            host="smtp.example.com",
            from_address="gw@example.com",
            username="u",
            password_file=tmp_path / "missing",
        )
    )

    with pytest.raises(NotConfigured):
        await adapter.initialize()


async def test_from_address_without_an_address_is_not_configured() -> None:
    adapter = EmailAdapter(EmailAccount(host="smtp.example.com", from_address="Gateway"))

    with pytest.raises(NotConfigured):
        await adapter.initialize()


async def test_compensate_is_refused(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    with pytest.raises(NotCompensable):
        await adapter.compensate("send", {"message_id": "<x@example.com>"}, ctx())


async def test_unknown_operation(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())

    with pytest.raises(UnknownOperation):
        await adapter.execute("recall", payload(), ctx())


async def test_after_shutdown_sends_are_refused(smtp_server: SmtpPeer) -> None:
    adapter = await adapter_for(smtp_server.settings())
    await adapter.shutdown()

    with pytest.raises(ShuttingDown):
        await send(adapter)
    assert smtp_server.messages == []


# --- payload validation ----------------------------------------------------------------------

VALID: dict[str, Any] = {"to": ["alice@example.com"], "subject": "Hi", "text": "Hello"}


def errors_of(data: dict[str, Any]) -> list[tuple[tuple[Any, ...], str]]:
    with pytest.raises(ValidationError) as caught:
        SendEmail.model_validate(data)
    return [(tuple(error["loc"]), error["msg"]) for error in caught.value.errors()]


def test_missing_to() -> None:
    data = {key: value for key, value in VALID.items() if key != "to"}
    assert errors_of(data) == [(("to",), "Field required")]


def test_empty_to() -> None:
    [(loc, _)] = errors_of({**VALID, "to": []})
    assert loc == ("to",)


def test_unknown_field() -> None:
    assert errors_of({**VALID, "priority": "high"}) == [
        (("priority",), "Extra inputs are not permitted")
    ]


def test_bad_address() -> None:
    [(loc, msg)] = errors_of({**VALID, "cc": ["not-an-address"]})
    assert loc == ("cc", 0)
    assert "not a valid email address" in msg


def test_subject_with_crlf_is_refused() -> None:
    [(loc, msg)] = errors_of({**VALID, "subject": "Hi\r\nBcc: victim@example.com"})
    assert loc == ("subject",)
    assert "CR, LF" in msg


def test_neither_text_nor_html() -> None:
    data = {key: value for key, value in VALID.items() if key != "text"}
    assert errors_of(data) == [
        (("html",), "Value error, at least one of text and html is required")
    ]


def test_in_reply_to_must_be_a_message_id() -> None:
    [(loc, _)] = errors_of({**VALID, "in_reply_to": "thread-1"})
    assert loc == ("in_reply_to",)


def test_more_than_100_recipients() -> None:
    many = [f"user{i}@example.com" for i in range(50)]
    [(loc, msg)] = errors_of({**VALID, "to": many, "cc": many, "bcc": ["x@example.com"]})
    assert loc == ()
    assert "at most 100 recipients" in msg


def test_strict_types() -> None:
    [(loc, _)] = errors_of({**VALID, "subject": 42})
    assert loc == ("subject",)


def test_schema_describes_every_field() -> None:
    schema = SendEmail.model_json_schema()
    assert schema["additionalProperties"] is False
    assert schema["required"] == ["to", "subject"]
    for name, prop in schema["properties"].items():
        assert prop.get("description"), name


def test_message_never_carries_bcc() -> None:
    message = build_message(payload(bcc=["secret@example.com"]), "Gateway <gateway@example.com>")
    assert message["Bcc"] is None
    assert b"secret@example.com" not in wire_bytes(message)
