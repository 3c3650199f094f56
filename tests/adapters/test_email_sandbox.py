"""The email sandbox with the real email adapter: what each tenant's account sends is kept
under that tenant alone, and the configured fault fails the step it names."""

from __future__ import annotations

import gc
from collections.abc import AsyncIterator
from contextlib import AbstractAsyncContextManager
from typing import Any

import pytest
from aiosmtpd.smtp import Envelope

from adapters.email.account import EmailAccount
from adapters.email.adapter import EmailAdapter
from adapters.email.client import build_message, wire_bytes
from adapters.email.operations import SendEmail
from adapters.email.sandbox import FROM_ADDRESS, MAX_BODY_CHARS, EmailSandbox, as_record
from gateway.contract import AttemptContext, VendorContact
from gateway.errors import GatewayError, OutcomeUnknown, VendorAuthFailed
from gateway.sandbox import MAX_RECEIVED, SandboxFault
from tests.support.vendor_adapters import attempt, initialized, serving
from tests.support.waiting import wait_until

pytestmark = pytest.mark.timeout(10)


def ctx(contact: VendorContact | None = None) -> AttemptContext:
    return attempt(contact=contact, timeout_s=3.0)


def payload(**overrides: Any) -> SendEmail:
    values: dict[str, Any] = {
        "to": ["alice@example.com"],
        "subject": "Your order has shipped",
        "text": "Hello Alice,\nyour order is on its way.",
    }
    values.update(overrides)
    return SendEmail.model_validate(values)


@pytest.fixture
async def sandbox() -> AsyncIterator[EmailSandbox]:
    async with serving(EmailSandbox()) as started:
        yield started


def faulty(**fault: Any) -> AbstractAsyncContextManager[EmailSandbox]:
    return serving(EmailSandbox(SandboxFault(**fault)))


def adapter_of(account: EmailAccount) -> AbstractAsyncContextManager[EmailAdapter]:
    return initialized(EmailAdapter(account, local_hostname="gateway.test"))


async def send(sandbox: EmailSandbox, tenant: str, message: SendEmail) -> dict[str, Any]:
    async with adapter_of(sandbox.account_for(tenant)) as adapter:
        return dict(await adapter.execute("send", message, ctx()))


async def refused(sandbox: EmailSandbox, message: SendEmail) -> tuple[GatewayError, bool]:
    """The error of a send as tenant acme, and whether the adapter reported the relay may
    have the message."""
    contact = VendorContact()
    async with adapter_of(sandbox.account_for("acme")) as adapter:
        with pytest.raises(GatewayError) as caught:
            await adapter.execute("send", message, ctx(contact))
    return caught.value, contact.reported


async def test_each_tenant_sends_with_its_own_account_and_sees_only_its_messages(
    sandbox: EmailSandbox,
) -> None:
    acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
    assert (acme.host, acme.port, acme.security) == ("127.0.0.1", sandbox.port, "none")
    assert (acme.username, globex.username) == ("acme", "globex")
    assert acme.resolved_password() != globex.resolved_password()
    assert sandbox.account_for("acme") == acme  # the same account for the gateway's life

    result = await send(
        sandbox,
        "acme",
        payload(cc=["bob@example.com"], bcc=["audit@example.com"], html="<p>Hello</p>"),
    )
    [kept] = sandbox.received("acme")
    assert kept["message_id"] == result["message_id"]
    assert {k: v for k, v in kept.items() if k not in ("message_id", "received_at")} == {
        "from": FROM_ADDRESS,
        "to": "alice@example.com",
        "cc": "bob@example.com",
        "recipients": ["alice@example.com", "bob@example.com", "audit@example.com"],
        "subject": "Your order has shipped",
        "text": "Hello Alice,\nyour order is on its way.",
        "html": "<p>Hello</p>",
    }
    assert sandbox.received("globex") == []
    await send(sandbox, "globex", payload(subject="Another"))
    assert [m["subject"] for m in sandbox.received("globex")] == ["Another"]
    assert len(sandbox.received("acme")) == 1


async def test_a_credential_opens_only_its_own_tenant(sandbox: EmailSandbox) -> None:
    acme = sandbox.account_for("acme")
    sandbox.account_for("globex")
    as_globex = acme.model_copy(update={"username": "globex"})  # acme's password
    async with adapter_of(as_globex) as adapter:
        with pytest.raises(VendorAuthFailed):
            await adapter.execute("send", payload(), ctx())
    assert sandbox.received("globex") == sandbox.received("acme") == []


async def test_the_live_probe_passes_against_the_sandbox(sandbox: EmailSandbox) -> None:
    async with adapter_of(sandbox.account_for("acme")) as adapter:
        probe = await adapter.health_check()
    assert probe.ok, probe.detail


async def test_it_keeps_the_newest_messages(sandbox: EmailSandbox) -> None:
    async with adapter_of(sandbox.account_for("acme")) as adapter:
        for n in range(MAX_RECEIVED + 1):
            await adapter.execute("send", payload(subject=f"s{n}"), ctx())
    kept = sandbox.received("acme")
    assert len(kept) == MAX_RECEIVED
    assert [kept[0]["subject"], kept[-1]["subject"]] == ["s1", f"s{MAX_RECEIVED}"]


def test_a_long_body_is_kept_cut() -> None:
    envelope = Envelope()
    envelope.rcpt_tos = ["alice@example.com"]
    envelope.original_content = wire_bytes(
        build_message(payload(text="x" * (MAX_BODY_CHARS + 10)), FROM_ADDRESS)
    )
    text = as_record(envelope)["text"]
    assert text == "x" * MAX_BODY_CHARS + "…"


@pytest.mark.parametrize(
    ("fault", "error", "phase", "code"),
    [
        ({"status": 451, "at": "mail"}, "VENDOR_UNAVAILABLE", "mail", "451"),
        ({"status": 550, "at": "rcpt"}, "VENDOR_REJECTED", "rcpt", "550"),
        ({"status": 554}, "VENDOR_REJECTED", "end_of_data", "554"),  # at the end of data
        ({"status": 535, "at": "mail"}, "VENDOR_AUTH_FAILED", "mail", "535"),
    ],
)
async def test_a_status_fault_fails_its_step_and_keeps_nothing(
    fault: dict[str, Any], error: str, phase: str, code: str
) -> None:
    async with faulty(**fault) as sandbox:
        seen, _ = await refused(sandbox, payload())
        assert (seen.reason, seen.metadata["phase"], seen.metadata["vendor_code"]) == (
            error,
            phase,
            code,
        )
        assert sandbox.received("acme") == []


async def test_a_fault_fails_as_many_times_as_it_says_then_the_sandbox_behaves() -> None:
    async with faulty(status=451, at="mail", times=2) as sandbox:
        for _ in range(2):
            seen, may_have_acted = await refused(sandbox, payload())
            assert (seen.reason, may_have_acted) == ("VENDOR_UNAVAILABLE", False)
        await send(sandbox, "acme", payload())
        assert len(sandbox.received("acme")) == 1


async def test_dropped_after_the_message_the_outcome_is_unknown_and_the_message_kept() -> None:
    async with faulty(drop=True, at="end_of_data") as sandbox:
        seen, may_have_acted = await refused(sandbox, payload(subject="Lost answer"))
        assert isinstance(seen, OutcomeUnknown)
        assert may_have_acted
        assert [m["subject"] for m in sandbox.received("acme")] == ["Lost answer"]


async def test_dropped_before_the_message_nothing_was_sent() -> None:
    async with faulty(drop=True, at="rcpt") as sandbox:
        seen, may_have_acted = await refused(sandbox, payload())
        assert (seen.reason, seen.metadata["phase"], may_have_acted) == (
            "VENDOR_UNAVAILABLE",
            "rcpt",
            False,
        )
        assert sandbox.received("acme") == []


def test_a_fault_at_an_unknown_stage_is_refused_naming_the_setting() -> None:
    with pytest.raises(ValueError, match=r"sandbox\.fail\.email\.at must be one of mail, rcpt"):
        EmailSandbox(SandboxFault(status=451, at="helo"))


async def test_once_stopped_it_takes_no_message(sandbox: EmailSandbox) -> None:
    account = sandbox.account_for("acme")
    await sandbox.stop()
    async with adapter_of(account) as adapter:
        with pytest.raises(GatewayError) as caught:
            await adapter.execute("send", payload(), ctx())
    assert caught.value.reason == "VENDOR_UNAVAILABLE"
    assert caught.value.metadata["phase"] == "connect"


async def test_it_lets_go_of_the_connections_the_adapter_closed(sandbox: EmailSandbox) -> None:
    for _ in range(3):
        await send(sandbox, "acme", payload())

    def none_held() -> bool:
        gc.collect()
        return len(sandbox._sessions) == 0

    assert await wait_until(none_held, timeout_s=5, what="the closed connections let go")
    assert len(sandbox.received("acme")) == 3
