"""A gateway whose ``voice`` connector talks, through a recorder, to Prism serving Twilio's
published description, or to the small stateful Twilio; and the calls an agent makes."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.voice.fake_twilio import ACCOUNT_SID, AUTH_TOKEN
from tests.integration.approved import approved
from tests.integration.reasons.observe import AGENT
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.prefer_proxy import PreferProxy
from tests.support.vendor_recorder import VendorRecorder

TWILIO = "twilio/twilio_api_v2010.calls-messages.json"
TWILIO_PRISM = "twilio/twilio_api_v2010.calls-messages.prism.json"
CALLS = f"/2010-04-01/Accounts/{ACCOUNT_SID}/Calls"
PRISM_CALL_SID = "CA" + "a" * 32  # the sid of Twilio's own examples, which Prism answers

PLACE = {
    "To": "+14155550123",
    "From": "+14155550100",
    "Twiml": "<Response><Say>Your table is ready.</Say></Response>",
    "StatusCallback": "https://example.com/calls/status",
    "Timeout": 30,
    "TimeLimit": 600,
    "Record": True,
}


@dataclass
class Voice:
    gw: RunningGateway
    vendor: VendorRecorder  # what reached Twilio (Prism or the fake), as the adapter sent it


def voice_account(url: str, **overrides: Any) -> dict[str, Any]:
    return {"account_sid": ACCOUNT_SID, "auth_token": AUTH_TOKEN, "base_url": url} | overrides


@asynccontextmanager
async def voice_gateway(
    tmp_path: Path, upstream: str, *, account: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[Voice]:
    """A development-mode gateway whose voice account talks to ``upstream`` through a
    recorder. Twilio's 1 call a second is lifted so that tests do not wait for it."""
    async with VendorRecorder(upstream) as vendor:
        config = gateway_settings(
            tmp_path,
            voice=voice_account(vendor.url, **(account or {})),
            reliability={
                "backoff_scale": 0.001,
                "rate_limits": {"voice": {"per_second": 1000, "burst": 1000}},
            },
            **settings,
        )
        async with running_gateway(config) as gw:
            yield Voice(gw, vendor)


@asynccontextmanager
async def prism_voice(
    tmp_path: Path, prism_url: str, **settings: Any
) -> AsyncIterator[tuple[Voice, PreferProxy]]:
    """The voice connector at Prism, through a proxy that can ask Prism for an error."""
    async with (
        PreferProxy(prism_url) as prefer,
        voice_gateway(tmp_path, prefer.url, **settings) as voice,
    ):
        yield voice, prefer


def execute(
    operation: str, payload: dict[str, Any], key: str = "", approval_id: str = ""
) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="voice", operation=operation, idempotency_key=key, approval_id=approval_id
    )
    request.payload.update(payload)
    return request


async def place_call(voice: Voice, key: str = "p1", **changes: Any) -> pb.ExecuteResponse:
    """Places a call with a person's approval."""
    request = await approved(voice.gw, execute("place_call", PLACE | changes, key))
    response: pb.ExecuteResponse = await voice.gw.stub.Execute(request, metadata=AGENT, timeout=20)
    return response
