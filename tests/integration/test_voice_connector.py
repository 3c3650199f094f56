"""The voice connector end to end: an agent's Execute over gRPC, through the whole chain (class
B through a person's approval), to Prism serving Twilio's published description, and back.
Every request Twilio received is checked against the faithful description. Twilio's errors
reach the agent as the documented reasons; payloads that break the model never reach Twilio;
the account probe; and the credentials appear in no row, log or error."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.voice.fake_twilio import ACCOUNT_SID, AUTH_TOKEN, fake_twilio, twilio_error
from tests.integration.approved import approved
from tests.integration.reasons.observe import AGENT, refused_rpc
from tests.integration.voice_rig import (
    CALLS,
    PLACE,
    PRISM_CALL_SID,
    TWILIO,
    TWILIO_PRISM,
    execute,
    place_call,
    prism_voice,
    voice_gateway,
)
from tests.support.documented_errors import documented_reasons
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.prism import PrismServers
from tests.support.vendor_schema import VendorSchema
from tests.support.waiting import wait_until

BASIC = aiohttp.encode_basic_auth(ACCOUNT_SID, AUTH_TOKEN)


def events(rows: list[dict[str, Any]]) -> list[str]:
    return [row["event_type"] for row in rows]


# --- each operation ---------------------------------------------------------------------------


async def test_get_call_reads_the_call_at_twilio(tmp_path: Path, prism: PrismServers) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, _):
        read = await voice.gw.stub.Execute(
            execute("get_call", {"CallSid": PRISM_CALL_SID}), metadata=AGENT, timeout=20
        )
        rows = voice.gw.audit_rows()
    assert (read.result["sid"], read.result["status"]) == (PRISM_CALL_SID, "completed")
    [sent] = voice.vendor.requests
    assert (sent.method, sent.path, sent.body) == ("GET", f"{CALLS}/{PRISM_CALL_SID}.json", b"")
    assert sent.headers["Authorization"] == BASIC
    VendorSchema.load(TWILIO).check(sent)
    assert events(rows) == ["execution_requested", "call_read"]


async def test_place_call_runs_once_after_a_persons_approval(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, _):
        request = execute("place_call", PLACE, key="p1")
        go = await approved(voice.gw, request)
        assert voice.vendor.requests == []  # nothing before the approval
        placed = await voice.gw.stub.Execute(go, metadata=AGENT, timeout=20)
        again = await voice.gw.stub.Execute(go, metadata=AGENT, timeout=20)
        rows = voice.gw.audit_rows()
    assert (placed.replayed, again.replayed) == (False, True)
    assert dict(again.result) == dict(placed.result)
    assert placed.result["sid"] == PRISM_CALL_SID
    [sent] = voice.vendor.requests
    assert (sent.method, sent.path) == ("POST", f"{CALLS}.json")
    assert sent.form() == [
        ("To", "+14155550123"),
        ("From", "+14155550100"),
        ("Twiml", "<Response><Say>Your table is ready.</Say></Response>"),
        ("StatusCallback", "https://example.com/calls/status"),
        ("Timeout", "30"),
        ("TimeLimit", "600"),
        ("Record", "true"),
    ]
    VendorSchema.load(TWILIO).check(sent)
    assert "call_placed" in events(rows)
    assert events(rows)[-1] == "execution_replayed"


async def test_status_callback_events_reach_twilio_as_a_repeated_key(tmp_path: Path) -> None:
    """Prism reads a repeated form key as one string, so a small Twilio answers here."""
    async with fake_twilio() as twilio, voice_gateway(tmp_path, twilio.url) as voice:
        placed = await place_call(voice, StatusCallbackEvent=["initiated", "answered"])
    assert placed.result["status"] == "queued"
    sent = voice.vendor.last()
    assert [v for k, v in sent.form() if k == "StatusCallbackEvent"] == ["initiated", "answered"]
    VendorSchema.load(TWILIO).check(sent)


async def test_cancel_call_sends_the_status_asked_for(tmp_path: Path, prism: PrismServers) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, _):
        request = await approved(
            voice.gw,
            execute("cancel_call", {"CallSid": PRISM_CALL_SID, "Status": "completed"}, "c1"),
        )
        ended = await voice.gw.stub.Execute(request, metadata=AGENT, timeout=20)
        rows = voice.gw.audit_rows()
    assert ended.result["sid"] == PRISM_CALL_SID
    [sent] = voice.vendor.requests
    assert (sent.method, sent.path, sent.form()) == (
        "POST",
        f"{CALLS}/{PRISM_CALL_SID}.json",
        [("Status", "completed")],
    )
    VendorSchema.load(TWILIO).check(sent)
    assert "call_canceled" in events(rows)


# --- Twilio's errors --------------------------------------------------------------------------

DOCUMENTED = documented_reasons()
RETRIES = 2  # voice's declared retry policy


@pytest.mark.parametrize(
    ("status", "code", "reason", "attempts"),
    [
        (400, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
        (401, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
        (404, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
        (429, grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED", 1 + RETRIES),
        (500, grpc.StatusCode.UNAVAILABLE, "VENDOR_ERROR", 1),
    ],
)
async def test_twilio_errors_reach_the_agent_as_documented(
    tmp_path: Path,
    prism: PrismServers,
    status: int,
    code: grpc.StatusCode,
    reason: str,
    attempts: int,
) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, prefer):
        prefer.prefer = f"code={status}"
        seen = await refused_rpc(
            voice.gw.stub.Execute(
                execute("get_call", {"CallSid": PRISM_CALL_SID}), metadata=AGENT, timeout=20
            ),
            voice.gw,
        )
    assert (seen.code, seen.reason) == (code, reason)
    assert voice.vendor.statuses == [status] * attempts
    assert seen.metadata["attempts"] == str(attempts)
    assert seen.metadata["vendor_code"] == "21211"  # Prism's one example of Twilio's error
    assert seen.metadata["vendor_status"] == str(status)
    for key in DOCUMENTED[reason].metadata_keys:
        assert seen.metadata.get(key), (reason, key, seen.metadata)
    assert seen.audit_row()["event_type"] == "call_read_failed"


async def test_a_refused_call_is_stored_and_a_failed_one_is_unknown(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, prefer):
        prefer.prefer = "code=400"
        refused = await approved(voice.gw, execute("place_call", PLACE, "p-400"))
        first = await refused_rpc(
            voice.gw.stub.Execute(refused, metadata=AGENT, timeout=20), voice.gw
        )
        repeat = await refused_rpc(
            voice.gw.stub.Execute(refused, metadata=AGENT, timeout=20), voice.gw
        )
        prefer.prefer = "code=500"
        failed = await approved(
            voice.gw, execute("place_call", PLACE | {"To": "+14155550199"}, "p-500")
        )
        unknown = await refused_rpc(
            voice.gw.stub.Execute(failed, metadata=AGENT, timeout=20), voice.gw
        )
    assert (first.reason, first.metadata["vendor_code"]) == ("VENDOR_REJECTED", "21211")
    assert (repeat.reason, repeat.metadata["replayed"]) == ("VENDOR_REJECTED", "true")
    assert (unknown.code, unknown.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    assert unknown.metadata["cause"] == "VENDOR_ERROR"
    assert voice.vendor.statuses == [400, 500]  # neither the repeat nor the failure re-sent


# --- what never reaches Twilio ----------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "payload", "field"),
    [
        ("place_call", PLACE | {"To": "4155550123"}, "payload.To"),
        ("place_call", PLACE | {"From": "+1 415 555 0100"}, "payload.From"),
        ("place_call", PLACE | {"Url": "https://example.com/twiml"}, "payload"),
        ("place_call", PLACE | {"StatusCallbackEvent": ["answered", "answered"]}, "payload"),
        (
            "place_call",
            {k: v for k, v in PLACE.items() if k != "StatusCallback"}
            | {"StatusCallbackEvent": ["answered"]},
            "payload",
        ),
        ("place_call", PLACE | {"Timeout": 601}, "payload.Timeout"),
        ("place_call", PLACE | {"to": "+14155550123"}, "payload.to"),
        ("get_call", {"CallSid": "CA123"}, "payload.CallSid"),
        ("cancel_call", {"CallSid": PRISM_CALL_SID, "Status": "busy"}, "payload.Status"),
    ],
)
async def test_a_payload_that_breaks_the_model_never_reaches_twilio(
    tmp_path: Path, prism: PrismServers, operation: str, payload: dict[str, Any], field: str
) -> None:
    async with prism_voice(tmp_path, prism.url(TWILIO_PRISM)) as (voice, _):
        seen = await refused_rpc(
            voice.gw.stub.Execute(execute(operation, payload, "bad-1"), metadata=AGENT, timeout=20),
            voice.gw,
        )
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert any(name.startswith(field) for name in seen.fields), seen.fields
    assert voice.vendor.requests == []
    assert [row["event_type"] for row in seen.audit_rows] == ["request_rejected"]


# --- the probe --------------------------------------------------------------------------------


async def health(voice_gw: Any) -> pb.ConnectorHealth:
    answer = await voice_gw.stub.Health(pb.HealthRequest(connector_key="voice"), timeout=10)
    return answer.connectors[0]


@pytest.mark.parametrize(
    ("account", "status", "error"),
    [
        ({}, pb.CONNECTOR_STATUS_OK, ""),
        ({"auth_token": "not-the-token-0000"}, pb.CONNECTOR_STATUS_ERROR, "VENDOR_AUTH_FAILED"),
    ],
)
async def test_the_account_probe_sets_the_connectors_health(
    tmp_path: Path, account: dict[str, Any], status: int, error: str
) -> None:
    """The account resource is not in the trimmed description: a small Twilio serves it."""
    # Once at start, then not within the test; one failed probe is enough for error.
    probes = {"health": {"probe_interval_s": 3600, "probe_failures_for_error": 1}}
    async with (
        fake_twilio() as twilio,
        voice_gateway(tmp_path, twilio.url, account=account, **probes) as voice,
    ):
        seen = await wait_until(lambda: _probed(voice.gw), what="the voice connector probed")
    assert seen.status == status
    assert error in seen.last_error
    [read] = voice.vendor.requests
    assert (read.method, read.path) == ("GET", f"/2010-04-01/Accounts/{ACCOUNT_SID}.json")


async def _probed(gw: Any) -> pb.ConnectorHealth | None:
    entry = await health(gw)
    return entry if entry.status != pb.CONNECTOR_STATUS_UNKNOWN else None


# --- configuration and credentials ------------------------------------------------------------


async def test_a_tenants_account_comes_from_the_environment_and_a_secret_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    secret = tmp_path / "twilio-token"
    secret.write_text(AUTH_TOKEN + "\n", encoding="utf-8")
    async with fake_twilio() as twilio:
        twilio.calls["CA" + "b" * 32] = "ringing"
        for name, value in {
            "VOICE__ACCOUNT_SID": ACCOUNT_SID,
            "VOICE__AUTH_TOKEN_FILE": str(secret),
            "VOICE__BASE_URL": twilio.url,
        }.items():
            monkeypatch.setenv(f"CONNECTOR_GATEWAY_{name}", value)
        async with running_gateway(gateway_settings(tmp_path)) as gw:
            read = await gw.stub.Execute(
                execute("get_call", {"CallSid": "CA" + "b" * 32}), metadata=AGENT, timeout=20
            )
    assert read.result["status"] == "ringing"


async def test_credentials_appear_in_no_audit_row_log_or_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    secrets = (AUTH_TOKEN, BASIC, BASIC.partition(" ")[2])
    seen_errors: list[str] = []
    async with fake_twilio() as twilio, voice_gateway(tmp_path, twilio.url) as voice:
        placed = await place_call(voice)
        sid = placed.result["sid"]
        await voice.gw.stub.Execute(
            execute("get_call", {"CallSid": sid}), metadata=AGENT, timeout=20
        )
        # Twilio refuses, quoting the credentials back; then fails outright.
        twilio.fail_next(400, twilio_error(400, 21211, f"bad To for {ACCOUNT_SID}:{AUTH_TOKEN}"))
        twilio.fail_next(500, twilio_error(500, 20500, f"{BASIC} broke"))
        for key in ("e1", "e2"):
            seen = await refused_rpc(
                voice.gw.stub.Execute(
                    execute("get_call", {"CallSid": sid}, key), metadata=AGENT, timeout=20
                ),
                voice.gw,
            )
            seen_errors.append(seen.message + json.dumps(seen.metadata))
        rows = json.dumps(voice.gw.audit_rows(), default=str)
    assert voice.vendor.statuses == [201, 200, 400, 500]
    for secret in secrets:
        assert secret not in rows
        assert secret not in caplog.text
        assert all(secret not in error for error in seen_errors)
