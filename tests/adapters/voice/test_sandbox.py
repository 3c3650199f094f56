"""The real voice adapter against the Twilio sandbox: every operation and the undo's
branches, the probe, each tenant's own account, Twilio's answers and error bodies, and the
configured faults."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest

from adapters.voice.account import VoiceAccount
from adapters.voice.adapter import VoiceAdapter
from adapters.voice.operations import CancelCall, GetCall, PlaceCall
from adapters.voice.sandbox import VoiceSandbox
from adapters.voice.sandbox_calls import ANSWERS, BUSY
from gateway.errors import (
    NotCompensable,
    VendorAuthFailed,
    VendorRejected,
    VendorUnavailable,
)
from gateway.sandbox import SandboxFault
from tests.support.vendor_adapters import attempt, initialized, serving
from tests.support.vendor_answers import answer_violations

pytestmark = pytest.mark.timeout(20)

TWILIO = "twilio/twilio_api_v2010.calls-messages.json"
CALL_SCHEMA = "/components/schemas/api.v2010.account.call"
PLACE = {
    "To": "+14155550123",
    "From": "+14155550100",
    "Twiml": "<Response><Say>Your table is ready.</Say></Response>",
    "StatusCallback": "https://example.com/calls/status",
    "StatusCallbackEvent": ["initiated", "answered", "completed"],
    "Timeout": 30,
    "Record": True,
}


def sandbox(fault: SandboxFault | None = None) -> AbstractAsyncContextManager[VoiceSandbox]:
    return serving(VoiceSandbox(fault))


def adapter_of(account: VoiceAccount) -> AbstractAsyncContextManager[VoiceAdapter]:
    return initialized(VoiceAdapter(account))


async def place(adapter: VoiceAdapter, **changes: Any) -> dict[str, Any]:
    payload = PlaceCall.model_validate(PLACE | changes)
    return dict(await adapter.execute("place_call", payload, attempt()))


async def status_of(adapter: VoiceAdapter, sid: str) -> str:
    return str((await adapter.execute("get_call", GetCall(CallSid=sid), attempt()))["status"])


async def raw(
    account: VoiceAccount,
    method: str,
    path: str,
    form: list[tuple[str, str]] | None = None,
    *,
    account_sid: str | None = None,
) -> tuple[int, Any]:
    """A request as Twilio's own client would send it (to ``account_sid``'s resources, by
    default the account's own), and the answer."""
    login = account.basic_auth()
    assert login is not None
    url = f"{account.base_url}/2010-04-01/Accounts/{account_sid or account.account_sid}{path}"
    headers = {"Authorization": aiohttp.encode_basic_auth(*login)}
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, url, data=form, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def test_a_placed_call_is_kept_read_back_and_shaped_as_twilios() -> None:
    async with sandbox() as twilio:
        account = twilio.account_for("acme")
        assert account.base_url.startswith("http://127.0.0.1:")
        assert account.account_sid is not None
        assert account.account_sid.startswith("AC")
        assert twilio.account_for("acme") == account
        async with adapter_of(account) as adapter:
            placed = await place(adapter)
            assert placed["status"] == "queued"
            assert (placed["to"], placed["from"]) == (PLACE["To"], PLACE["From"])
            assert await status_of(adapter, placed["sid"]) == "queued"  # until it is ended
        status, call = await raw(account, "GET", f"/Calls/{placed['sid']}.json")
        assert status == 200
        assert answer_violations(TWILIO, CALL_SCHEMA, call) == []
        assert call["account_sid"] == account.account_sid
        assert twilio.received("acme") == [
            {
                "event": "call placed",
                "call_sid": placed["sid"],
                "to": PLACE["To"],
                "from": PLACE["From"],
                "status": "queued",
                "Twiml": PLACE["Twiml"],
                "StatusCallback": PLACE["StatusCallback"],
                "StatusCallbackEvent": ["initiated", "answered", "completed"],
                "Timeout": "30",
                "Record": "true",
            }
        ]
        assert twilio.received("globex") == []


async def test_the_undo_cancels_a_queued_call_and_hangs_up_an_answered_one() -> None:
    async with sandbox() as twilio, adapter_of(twilio.account_for("acme")) as adapter:
        queued = await place(adapter)
        answered = await place(adapter, To=ANSWERS)
        assert answered["status"] == "queued"  # Twilio's first answer; the callee then picks up
        assert await status_of(adapter, answered["sid"]) == "in-progress"

        canceled = await adapter.compensate("cancel_call", queued, attempt())
        hung_up = await adapter.compensate("cancel_call", answered, attempt())
        assert (canceled["previous_status"], canceled["requested_status"], canceled["status"]) == (
            "queued",
            "canceled",
            "canceled",
        )
        assert (hung_up["previous_status"], hung_up["requested_status"], hung_up["status"]) == (
            "in-progress",
            "completed",
            "completed",
        )
        assert hung_up["end_time"]
        assert hung_up["duration"] is not None
        updates = [r for r in twilio.received("acme") if r["event"] == "call updated"]
        assert [(u["call_sid"], u["previous_status"], u["status"]) for u in updates] == [
            (queued["sid"], "queued", "canceled"),
            (answered["sid"], "in-progress", "completed"),
        ]

        # An ended call cannot be undone; the undo reads it and sends nothing.
        with pytest.raises(NotCompensable):
            await adapter.compensate("cancel_call", canceled, attempt())
        busy = await place(adapter, To=BUSY)
        assert await status_of(adapter, busy["sid"]) == "busy"
        with pytest.raises(NotCompensable) as caught:
            await adapter.compensate("cancel_call", busy, attempt())
        assert caught.value.metadata["call_status"] == "busy"
        assert len(twilio.received("acme")) == 5  # three calls, two updates


async def test_cancel_call_follows_twilios_rules_for_each_status() -> None:
    async with sandbox() as twilio, adapter_of(twilio.account_for("acme")) as adapter:
        answered = await place(adapter, To=ANSWERS)
        sid = answered["sid"]
        # Status=canceled leaves a call in progress up, as Twilio's does.
        left = await adapter.execute("cancel_call", CancelCall(CallSid=sid), attempt())
        assert left["status"] == "in-progress"
        ended = await adapter.execute(
            "cancel_call", CancelCall(CallSid=sid, Status="completed"), attempt()
        )
        assert ended["status"] == "completed"
        with pytest.raises(VendorRejected) as caught:
            await adapter.execute(
                "cancel_call", CancelCall(CallSid=sid, Status="completed"), attempt()
            )
        assert caught.value.metadata["vendor_code"] == "21220"
        assert caught.value.metadata["vendor_status"] == "400"
        # A queued call can be hung up too.
        queued = await place(adapter)
        completed = await adapter.execute(
            "cancel_call", CancelCall(CallSid=queued["sid"], Status="completed"), attempt()
        )
        assert completed["status"] == "completed"


async def test_each_tenant_reaches_only_its_own_account_and_calls() -> None:
    async with sandbox() as twilio:
        acme, globex = twilio.account_for("acme"), twilio.account_for("globex")
        assert acme.account_sid != globex.account_sid
        async with adapter_of(acme) as acme_adapter, adapter_of(globex) as globex_adapter:
            placed = await place(acme_adapter)
            with pytest.raises(VendorRejected) as caught:
                await status_of(globex_adapter, placed["sid"])
            assert caught.value.metadata["vendor_code"] == "20404"
            assert (await globex_adapter.health_check()).ok
        # Acme's SID with globex's token is no pair the sandbox handed out.
        mixed = acme.model_copy(update={"auth_token": globex.auth_token})
        async with adapter_of(mixed) as adapter:
            probe = await adapter.health_check()
        assert not probe.ok
        assert isinstance(probe.error, VendorAuthFailed)
        assert probe.error.metadata["vendor_code"] == "20003"
        # Globex's own credentials on acme's account path: no such account for globex.
        form = [("To", "+14155550123"), ("From", "+14155550100"), ("Url", "https://x.example")]
        for method, path, sent in (
            ("GET", ".json", None),
            ("POST", "/Calls.json", form),
            ("GET", f"/Calls/{placed['sid']}.json", None),
            ("POST", f"/Calls/{placed['sid']}.json", [("Status", "canceled")]),
        ):
            status, body = await raw(globex, method, path, sent, account_sid=acme.account_sid)
            assert (status, body["code"]) == (404, 20404)
        assert twilio.received("globex") == []
        assert len(twilio.received("acme")) == 1


async def test_the_probe_reads_an_active_account() -> None:
    async with sandbox() as twilio:
        account = twilio.account_for("acme")
        async with adapter_of(account) as adapter:
            probe = await adapter.health_check()
        assert (probe.ok, probe.detail) == (True, "twilio account probe: active")
        status, body = await raw(account, "GET", ".json")
        assert (status, body["sid"], body["status"]) == (200, account.account_sid, "active")
        assert account.auth_token is not None
        assert account.auth_token.get_secret_value() not in json.dumps(body)  # Twilio's has it


@pytest.mark.parametrize(
    ("form", "code"),
    [
        ([("From", "+14155550100"), ("Url", "https://example.com/x")], 21201),
        ([("To", "+14155550123"), ("Url", "https://example.com/x")], 21213),
        ([("To", "0800"), ("From", "+14155550100"), ("Url", "https://example.com/x")], 21211),
        ([("To", "+14155550123"), ("From", "+14155550100")], 21200),
        (
            [
                ("To", "+14155550123"),
                ("From", "+14155550100"),
                ("Url", "https://example.com/x"),
                ("StatusCallbackEvent", "hung-up"),
            ],
            21626,
        ),
    ],
)
async def test_a_call_twilio_would_refuse_is_refused_in_its_error_body_and_not_kept(
    form: list[tuple[str, str]], code: int
) -> None:
    async with sandbox() as twilio:
        account = twilio.account_for("acme")
        status, body = await raw(account, "POST", "/Calls.json", form)
        assert status == 400
        assert body == {
            "code": code,
            "message": body["message"],
            "more_info": f"https://www.twilio.com/docs/errors/{code}",
            "status": 400,
        }
        assert twilio.received("acme") == []


async def test_a_status_fault_acts_on_nothing_then_the_sandbox_behaves() -> None:
    fault = SandboxFault(status=503, at="POST /2010-04-01/Accounts", times=1)
    async with sandbox(fault) as twilio, adapter_of(twilio.account_for("acme")) as adapter:
        with pytest.raises(VendorUnavailable) as caught:
            await place(adapter)
        assert caught.value.metadata["vendor_code"] == "20503"
        assert twilio.received("acme") == []
        placed = await place(adapter)
        assert await status_of(adapter, placed["sid"]) == "queued"


async def test_a_fault_on_reads_fails_the_probe_in_twilios_terms() -> None:
    fault = SandboxFault(status=401, at="GET /2010-04-01/Accounts")
    async with sandbox(fault) as twilio, adapter_of(twilio.account_for("acme")) as adapter:
        probe = await adapter.health_check()
        assert not probe.ok
        assert isinstance(probe.error, VendorAuthFailed)
        assert probe.error.metadata["vendor_code"] == "20003"
        placed = await place(adapter)  # a POST is not covered
        assert placed["status"] == "queued"


async def test_a_dropped_answer_leaves_the_call_placed() -> None:
    fault = SandboxFault(drop=True, at="POST /2010-04-01/Accounts", times=1)
    async with sandbox(fault) as twilio, adapter_of(twilio.account_for("acme")) as adapter:
        with pytest.raises(VendorUnavailable) as caught:
            await place(adapter, To=ANSWERS)
        assert caught.value.may_have_acted  # the gateway answers OUTCOME_UNKNOWN
        [kept] = twilio.received("acme")
        assert (kept["to"], kept["status"]) == (ANSWERS, "in-progress")
        assert await status_of(adapter, kept["call_sid"]) == "in-progress"
