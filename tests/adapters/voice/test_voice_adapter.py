"""The voice adapter against a small Twilio: the requests it sends (checked against Twilio's
published description), the answers it maps, the undo's two branches and the probe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import aiohttp
import pytest
from pydantic import ValidationError

from adapters.voice.account import VoiceAccount
from adapters.voice.adapter import VoiceAdapter
from adapters.voice.errors import twilio_error
from adapters.voice.operations import CancelCall, GetCall, PlaceCall
from gateway.contract import VendorContact
from gateway.errors import (
    GatewayError,
    NotCompensable,
    NotConfigured,
    ShuttingDown,
    UnknownOperation,
    VendorAuthFailed,
    VendorError,
    VendorRateLimited,
    VendorRejected,
)
from tests.adapters.voice.fake_twilio import (
    ACCOUNT_SID,
    AUTH_TOKEN,
    CALL_SID,
    FakeTwilio,
    fake_twilio,
)
from tests.adapters.voice.fake_twilio import twilio_error as error_body
from tests.support.vendor_adapters import attempt, initialized
from tests.support.vendor_recorder import VendorRecorder
from tests.support.vendor_schema import VendorSchema

TWILIO = "twilio/twilio_api_v2010.calls-messages.json"
CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls"


def account(url: str, **overrides: Any) -> VoiceAccount:
    fields: dict[str, Any] = {
        "account_sid": ACCOUNT_SID,
        "auth_token": AUTH_TOKEN,
        "base_url": url,
    }
    return VoiceAccount(**(fields | overrides))


@asynccontextmanager
async def rig() -> AsyncIterator[tuple[VoiceAdapter, FakeTwilio, VendorRecorder]]:
    async with (
        fake_twilio() as twilio,
        VendorRecorder(twilio.url) as vendor,
        initialized(VoiceAdapter(account(vendor.url))) as adapter,
    ):
        yield adapter, twilio, vendor


PLACE = {
    "To": "+14155550123",
    "From": "+14155550100",
    "Twiml": "<Response><Say>Your table is ready.</Say></Response>",
    "StatusCallback": "https://example.com/calls/status",
    "StatusCallbackEvent": ["initiated", "ringing", "answered", "completed"],
    "Timeout": 30,
    "TimeLimit": 600,
    "Record": True,
}


# --- what is sent ------------------------------------------------------------------------------


async def test_place_call_sends_twilios_form_with_a_repeated_event_key() -> None:
    async with rig() as (adapter, _, vendor):
        contact = VendorContact()
        result = await adapter.execute(
            "place_call", PlaceCall.model_validate(PLACE), attempt(contact=contact)
        )
    assert contact.reported
    [sent] = vendor.requests
    assert (sent.method, sent.path) == ("POST", f"{CALLS}.json")
    assert sent.content_type == "application/x-www-form-urlencoded"
    assert sent.headers["Authorization"] == aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)
    assert sent.form() == [
        ("To", "+14155550123"),
        ("From", "+14155550100"),
        ("Twiml", "<Response><Say>Your table is ready.</Say></Response>"),
        ("StatusCallback", "https://example.com/calls/status"),
        ("StatusCallbackEvent", "initiated"),
        ("StatusCallbackEvent", "ringing"),
        ("StatusCallbackEvent", "answered"),
        ("StatusCallbackEvent", "completed"),
        ("Timeout", "30"),
        ("TimeLimit", "600"),
        ("Record", "true"),
    ]
    VendorSchema.load(TWILIO).check(sent)
    assert result["sid"].startswith("CA")
    assert (result["status"], result["to"], result["from"]) == (
        "queued",
        "+14155550123",
        "+14155550100",
    )
    assert "account_sid" not in result
    assert "uri" not in result


async def test_a_call_by_url_sends_only_what_was_given() -> None:
    payload = PlaceCall.model_validate(
        {"To": "+966501234567", "From": "+14155550100", "Url": "https://example.com/twiml"}
    )
    async with rig() as (adapter, _, vendor):
        await adapter.execute("place_call", payload, attempt())
    assert vendor.last().form() == [
        ("To", "+966501234567"),
        ("From", "+14155550100"),
        ("Url", "https://example.com/twiml"),
    ]
    VendorSchema.load(TWILIO).check(vendor.last())


async def test_get_call_and_cancel_call_address_the_call() -> None:
    async with rig() as (adapter, twilio, vendor):
        twilio.calls[CALL_SID] = "ringing"
        read = await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
        canceled = await adapter.execute("cancel_call", CancelCall(CallSid=CALL_SID), attempt())
    assert read["status"] == "ringing"
    assert canceled["status"] == "canceled"
    get, post = vendor.requests
    assert (get.method, get.path, get.body) == ("GET", f"{CALLS}/{CALL_SID}.json", b"")
    assert (post.method, post.path, post.form()) == (
        "POST",
        f"{CALLS}/{CALL_SID}.json",
        [("Status", "canceled")],
    )
    for request in vendor.requests:
        VendorSchema.load(TWILIO).check(request)


# --- the undo ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("before", "sent", "after"),
    [
        ("queued", "canceled", "canceled"),
        ("ringing", "canceled", "canceled"),
        ("in-progress", "completed", "completed"),
    ],
)
async def test_the_undo_reads_the_call_then_sends_the_status_it_allows(
    before: str, sent: str, after: str
) -> None:
    async with rig() as (adapter, twilio, vendor):
        twilio.calls[CALL_SID] = before
        contact = VendorContact()
        undone = await adapter.compensate(
            "cancel_call", {"sid": CALL_SID}, attempt(contact=contact)
        )
    assert contact.reported
    read, update = vendor.requests
    assert (read.method, read.path) == ("GET", f"{CALLS}/{CALL_SID}.json")
    assert (update.method, update.path, update.form()) == (
        "POST",
        f"{CALLS}/{CALL_SID}.json",
        [("Status", sent)],
    )
    VendorSchema.load(TWILIO).check(update)
    assert (undone["status"], undone["previous_status"], undone["requested_status"]) == (
        after,
        before,
        sent,
    )


async def test_a_call_answered_between_the_read_and_the_cancel_is_hung_up() -> None:
    async with rig() as (adapter, twilio, vendor):
        twilio.calls[CALL_SID] = "ringing"
        twilio.answered_before_cancel.add(CALL_SID)
        undone = await adapter.compensate("cancel_call", {"sid": CALL_SID}, attempt())
    assert [(r.method, r.form()) for r in vendor.requests] == [
        ("GET", []),
        ("POST", [("Status", "canceled")]),
        ("POST", [("Status", "completed")]),
    ]
    assert (undone["status"], undone["requested_status"]) == ("completed", "completed")


@pytest.mark.parametrize("ended", ["completed", "busy", "failed", "no-answer", "canceled"])
async def test_a_call_that_has_ended_cannot_be_undone_and_nothing_is_sent(ended: str) -> None:
    async with rig() as (adapter, twilio, vendor):
        twilio.calls[CALL_SID] = ended
        contact = VendorContact()
        with pytest.raises(NotCompensable) as caught:
            await adapter.compensate("cancel_call", {"sid": CALL_SID}, attempt(contact=contact))
    assert [r.method for r in vendor.requests] == ["GET"]
    assert not contact.reported
    assert caught.value.metadata == {"operation": "place_call", "call_status": ended}
    assert not caught.value.may_have_acted


@pytest.mark.parametrize("failure", ["dropped", "500"])
async def test_a_failed_status_read_has_not_acted(failure: str) -> None:
    async with rig() as (adapter, twilio, vendor):
        twilio.calls[CALL_SID] = "ringing"
        if failure == "dropped":
            vendor.drop_after_forwarding(2)  # aiohttp sends a GET once more on a fresh connection
        else:
            twilio.fail_next(500, error_body(500, 20500, "Internal Server Error"))
        contact = VendorContact()
        with pytest.raises(GatewayError) as caught:
            await adapter.compensate("cancel_call", {"sid": CALL_SID}, attempt(contact=contact))
    assert {r.method for r in vendor.requests} == {"GET"}
    assert caught.value.reason in ("VENDOR_UNAVAILABLE", "VENDOR_ERROR")
    assert not caught.value.may_have_acted  # so the undo may be tried again
    assert not contact.reported


async def test_compensate_knows_only_cancel_call() -> None:
    async with rig() as (adapter, _, vendor):
        with pytest.raises(UnknownOperation):
            await adapter.compensate("place_call", {"sid": CALL_SID}, attempt())
    assert vendor.requests == []


# --- Twilio's answers -------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, 21211, VendorRejected),
        (401, 20003, VendorAuthFailed),
        (404, 20404, VendorRejected),
        (429, 20429, VendorRateLimited),
        (500, 20500, VendorError),
    ],
)
async def test_twilio_errors_keep_their_code(
    status: int, code: int, error_type: type[GatewayError]
) -> None:
    async with rig() as (adapter, twilio, _):
        twilio.fail_next(status, error_body(status, code, "Invalid 'To' Phone Number: +1555"))
        with pytest.raises(error_type) as caught:
            await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
    assert caught.value.metadata["vendor_code"] == str(code)
    assert caught.value.metadata["vendor_status"] == str(status)
    assert "+1555" not in caught.value.message  # the vendor's words stay in the metadata


def test_the_error_parser_reads_twilios_body_and_falls_back() -> None:
    assert twilio_error(400, error_body(400, 21211, "bad To")) == ("21211", "bad To")
    assert twilio_error(502, "Bad Gateway") == ("", "Bad Gateway")
    assert twilio_error(500, {"code": 20500}) == ("20500", "")


async def test_a_token_the_vendor_echoes_never_reaches_the_error() -> None:
    async with rig() as (adapter, twilio, _):
        twilio.fail_next(400, error_body(400, 21211, f"bad auth {AUTH_TOKEN}"))
        with pytest.raises(VendorRejected) as caught:
            await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
    error = caught.value
    assert AUTH_TOKEN not in error.message
    assert all(AUTH_TOKEN not in value for value in error.metadata.values())
    assert "***" in error.metadata["vendor_message"]
    assert AUTH_TOKEN not in repr(adapter.__dict__)


async def test_an_answer_without_a_call_is_a_bad_response() -> None:
    async with fake_twilio() as twilio:
        adapter = VoiceAdapter(account(twilio.url))
        twilio.fail_next(200, {"sid": "not-a-call"})
        with pytest.raises(GatewayError) as caught:
            await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
        await adapter.shutdown()
    assert caught.value.reason == "VENDOR_BAD_RESPONSE"


# --- the probe --------------------------------------------------------------------------------


async def test_the_probe_reads_the_account() -> None:
    async with rig() as (adapter, _, vendor):
        probe = await adapter.health_check()
    assert probe.ok, probe
    [read] = vendor.requests
    assert (read.method, read.path) == ("GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}.json")


async def test_the_probe_fails_on_refused_credentials_without_the_vendors_words() -> None:
    async with fake_twilio() as twilio:
        adapter = VoiceAdapter(account(twilio.url, auth_token="wrong-token-123"))
        probe = await adapter.health_check()
        await adapter.shutdown()
    assert not probe.ok
    assert isinstance(probe.error, VendorAuthFailed)
    assert probe.error.metadata["vendor_code"] == "20003"
    assert probe.detail == "twilio account probe: VENDOR_AUTH_FAILED (HTTP 401)"


async def test_the_probe_fails_for_a_suspended_account() -> None:
    async with rig() as (adapter, twilio, _):
        twilio.account_status = "suspended"
        probe = await adapter.health_check()
    assert not probe.ok
    assert probe.error is not None
    assert probe.error.reason == "VENDOR_AUTH_FAILED"
    assert probe.detail == "twilio account probe: account suspended"


async def test_the_probe_fails_when_twilio_cannot_be_reached() -> None:
    async with fake_twilio() as twilio:
        url = twilio.url  # closed once the block ends
    adapter = VoiceAdapter(account(url), probe_timeout_s=2.0)
    probe = await adapter.health_check()
    await adapter.shutdown()
    assert not probe.ok
    assert probe.error is not None
    assert probe.error.reason == "VENDOR_UNAVAILABLE"


async def test_an_unconfigured_account_probes_false_and_refuses_calls() -> None:
    adapter = VoiceAdapter(VoiceAccount())
    assert not adapter.configured
    probe = await adapter.health_check()
    assert (probe.ok, probe.error) == (False, None)
    with pytest.raises(NotConfigured):
        await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())


# --- the account ------------------------------------------------------------------------------


async def test_an_api_key_and_a_secret_file_authenticate(tmp_path: Path) -> None:
    key_sid = "SK" + "f" * 32
    secret = tmp_path / "twilio-secret"
    secret.write_text("key-secret-abcdef\n", encoding="utf-8")
    async with fake_twilio() as twilio, VendorRecorder(twilio.url) as vendor:
        twilio.auth_user, twilio.auth_token = key_sid, "key-secret-abcdef"
        twilio.calls[CALL_SID] = "queued"
        adapter = VoiceAdapter(
            account(vendor.url, auth_token=None, api_key_sid=key_sid, api_key_secret_file=secret)
        )
        assert adapter.configured
        read = await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
        await adapter.shutdown()
    assert read["status"] == "queued"
    assert vendor.last().path == f"{CALLS}/{CALL_SID}.json"  # the account's path all the same


async def test_a_missing_secret_file_is_not_configured_naming_no_secret(tmp_path: Path) -> None:
    adapter = VoiceAdapter(
        account("http://127.0.0.1:9", auth_token=None, auth_token_file=tmp_path / "absent")
    )
    with pytest.raises(NotConfigured, match="cannot read the secret file"):
        await adapter.initialize()


@pytest.mark.parametrize(
    "fields",
    [
        {"account_sid": "AC123"},
        {"api_key_sid": "SK" + "0" * 32},
        {"api_key_secret": "s"},
        {"auth_tokn": "t"},
    ],
)
def test_account_settings_are_checked(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        VoiceAccount(**fields)


async def test_a_stopped_adapter_refuses_calls() -> None:
    async with rig() as (adapter, _, vendor):
        await adapter.shutdown()
        with pytest.raises(ShuttingDown):
            await adapter.execute("get_call", GetCall(CallSid=CALL_SID), attempt())
    assert vendor.requests == []
