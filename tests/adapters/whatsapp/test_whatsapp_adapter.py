"""The WhatsApp adapter against a small Graph API: the messages it sends (checked against
Meta's published description), the Graph codes it maps and the probe."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import pytest
from pydantic import ValidationError

from adapters.whatsapp.account import WhatsAppAccount
from adapters.whatsapp.adapter import USER_AGENT, WhatsAppAdapter
from adapters.whatsapp.errors import graph_error
from adapters.whatsapp.operations import SendTemplate, SendText
from gateway.contract import VendorContact
from gateway.errors import (
    GatewayError,
    MessagingWindowClosed,
    NotCompensable,
    NotConfigured,
    ShuttingDown,
    VendorAuthFailed,
    VendorError,
    VendorRateLimited,
    VendorRejected,
)
from tests.adapters.whatsapp.fake_graph import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    WAMID,
    FakeGraph,
    fake_graph,
)
from tests.adapters.whatsapp.fake_graph import graph_error as error_body
from tests.support.vendor_adapters import attempt, initialized
from tests.support.vendor_recorder import VendorRecorder
from tests.support.vendor_schema import VendorSchema

WHATSAPP = "whatsapp/business-messaging-api_v23.0.messages.yaml"
MESSAGES = f"/v23.0/{PHONE_NUMBER_ID}/messages"


def account(url: str, **overrides: Any) -> WhatsAppAccount:
    fields: dict[str, Any] = {
        "phone_number_id": PHONE_NUMBER_ID,
        "access_token": ACCESS_TOKEN,
        "base_url": url,
    }
    return WhatsAppAccount(**(fields | overrides))


@asynccontextmanager
async def rig(**overrides: Any) -> AsyncIterator[tuple[WhatsAppAdapter, FakeGraph, VendorRecorder]]:
    async with (
        fake_graph() as graph,
        VendorRecorder(graph.url) as vendor,
        initialized(WhatsAppAdapter(account(vendor.url, **overrides))) as adapter,
    ):
        yield adapter, graph, vendor


TEXT = {
    "to": "+966501234567",
    "text": {"body": "Your order has shipped: https://example.com/t/1", "preview_url": True},
    "context": {"message_id": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww"},
}
TEMPLATE = {
    "to": "+966501234567",
    "template": {
        "name": "order_confirmation",
        "language": {"code": "ar"},
        "components": [
            {
                "type": "header",
                "parameters": [
                    {"type": "document", "document": {"link": "https://example.com/i.pdf"}}
                ],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Sara"},
                    {
                        "type": "currency",
                        "currency": {
                            "fallback_value": "SAR 100.99",
                            "code": "SAR",
                            "amount_1000": 100990,
                        },
                    },
                    {"type": "date_time", "date_time": {"fallback_value": "5 September"}},
                ],
            },
            {
                "type": "button",
                "sub_type": "quick_reply",
                "index": "1",
                "parameters": [{"type": "payload", "payload": "TRACK_ORDER"}],
            },
        ],
    },
}


# --- what is sent ------------------------------------------------------------------------------


async def test_send_text_posts_graphs_message_and_returns_its_id() -> None:
    async with rig() as (adapter, _, vendor):
        contact = VendorContact()
        result = await adapter.execute(
            "send_text", SendText.model_validate(TEXT), attempt(contact=contact)
        )
    assert contact.reported
    [sent] = vendor.requests
    assert (sent.method, sent.path, sent.content_type) == ("POST", MESSAGES, "application/json")
    assert sent.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert sent.headers["User-Agent"] == USER_AGENT
    assert sent.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+966501234567",
        "type": "text",
        "context": {"message_id": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww"},
        "text": {"body": "Your order has shipped: https://example.com/t/1", "preview_url": True},
    }
    VendorSchema.load(WHATSAPP).check(sent)
    assert result == {"message_id": WAMID, "message_status": "accepted", "wa_id": "966501234567"}


async def test_send_template_spells_out_the_language_policy() -> None:
    async with rig() as (adapter, _, vendor):
        await adapter.execute("send_template", SendTemplate.model_validate(TEMPLATE), attempt())
    sent = vendor.last()
    body = sent.json()
    assert body["type"] == "template"
    assert body["template"]["language"] == {"code": "ar", "policy": "deterministic"}
    assert body["template"]["components"] == TEMPLATE["template"]["components"]
    VendorSchema.load(WHATSAPP).check(sent)


async def test_a_template_without_placeholders_sends_no_components() -> None:
    payload = SendTemplate.model_validate(
        {"to": "+14155550123", "template": {"name": "hello_world", "language": {"code": "en_US"}}}
    )
    async with rig() as (adapter, _, vendor):
        await adapter.execute("send_template", payload, attempt())
    assert vendor.last().json()["template"] == {
        "name": "hello_world",
        "language": {"code": "en_US", "policy": "deterministic"},
    }
    VendorSchema.load(WHATSAPP).check(vendor.last())


async def test_the_graph_version_is_configurable() -> None:
    async with rig(graph_version="v24.0") as (adapter, _, vendor):
        await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert vendor.last().path == f"/v24.0/{PHONE_NUMBER_ID}/messages"


# --- Graph's answers --------------------------------------------------------------------------


@pytest.mark.parametrize(
    ("status", "code", "error_type"),
    [
        (400, 100, VendorRejected),
        (401, 190, VendorAuthFailed),
        (403, 200, VendorAuthFailed),
        (404, 100, VendorRejected),
        (429, 4, VendorRateLimited),
        (500, 1, VendorError),
    ],
)
async def test_graph_errors_keep_their_code(
    status: int, code: int, error_type: type[GatewayError]
) -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(status, error_body(code, "(#100) Invalid parameter to +966501234567"))
        with pytest.raises(error_type) as caught:
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert type(caught.value) is error_type
    assert caught.value.metadata["vendor_code"] == str(code)
    assert caught.value.metadata["vendor_status"] == str(status)
    assert "+966501234567" not in caught.value.message


async def test_a_closed_service_window_has_its_own_reason_naming_the_template() -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(400, error_body(131047, "Re-engagement message", subcode=2494010))
        with pytest.raises(MessagingWindowClosed) as caught:
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    error = caught.value
    assert error.reason == "MESSAGING_WINDOW_CLOSED"
    assert isinstance(error, VendorRejected)  # stored and replayed like any refusal
    assert error.metadata["vendor_code"] == "131047"
    assert "send_template" in error.message
    assert not error.may_have_acted


@pytest.mark.parametrize("code", [4, 80007, 130429, 131048, 131056])
@pytest.mark.parametrize("status", [400, 403])
async def test_graph_throttling_codes_are_rate_limits_whatever_the_status(
    code: int, status: int
) -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(status, error_body(code, "Rate limit hit"))
        with pytest.raises(VendorRateLimited) as caught:
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert caught.value.metadata["vendor_code"] == str(code)
    assert caught.value.retryable
    assert not caught.value.may_have_acted


async def test_an_expired_token_answered_400_is_an_auth_failure() -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(400, error_body(190, "Error validating access token", subcode=463))
        with pytest.raises(VendorAuthFailed):
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())


def test_the_error_parser_reads_graphs_body_and_falls_back() -> None:
    assert graph_error(400, error_body(131047, "Re-engagement message")) == (
        "131047",
        "Re-engagement message",
    )
    assert graph_error(502, "Bad Gateway") == ("", "Bad Gateway")
    assert graph_error(400, {"error": {"type": "OAuthException", "message": "m"}}) == (
        "OAuthException",
        "m",
    )


async def test_a_token_the_vendor_echoes_never_reaches_the_error() -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(400, error_body(100, f"bad token {ACCESS_TOKEN}"))
        with pytest.raises(VendorRejected) as caught:
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert ACCESS_TOKEN not in caught.value.message
    assert all(ACCESS_TOKEN not in value for value in caught.value.metadata.values())
    assert "***" in caught.value.metadata["vendor_message"]


async def test_an_answer_without_a_message_id_is_a_bad_response() -> None:
    async with rig() as (adapter, graph, _):
        graph.fail_next(200, {"messaging_product": "whatsapp", "messages": []})
        with pytest.raises(GatewayError) as caught:
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert caught.value.reason == "VENDOR_BAD_RESPONSE"
    assert caught.value.may_have_acted


async def test_a_sent_message_cannot_be_recalled() -> None:
    async with rig() as (adapter, _, vendor):
        with pytest.raises(NotCompensable):
            await adapter.compensate("send_text", {"message_id": WAMID}, attempt())
    assert vendor.requests == []


# --- the probe --------------------------------------------------------------------------------


async def test_the_probe_reads_the_phone_number() -> None:
    async with rig() as (adapter, _, vendor):
        probe = await adapter.health_check()
    assert probe.ok, probe
    [read] = vendor.requests
    assert (read.method, read.path) == ("GET", f"/v23.0/{PHONE_NUMBER_ID}")
    assert read.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"


async def test_the_probe_fails_on_a_refused_token_without_the_vendors_words() -> None:
    async with fake_graph() as graph:
        adapter = WhatsAppAdapter(account(graph.url, access_token="revoked-token-0000"))
        probe = await adapter.health_check()
        await adapter.shutdown()
    assert not probe.ok
    assert isinstance(probe.error, VendorAuthFailed)
    assert probe.error.metadata["vendor_code"] == "190"
    assert probe.detail == "whatsapp phone number probe: VENDOR_AUTH_FAILED (HTTP 401)"


async def test_the_probe_fails_for_a_phone_number_graph_does_not_know() -> None:
    async with fake_graph() as graph:
        adapter = WhatsAppAdapter(account(graph.url, phone_number_id="999"))
        probe = await adapter.health_check()
        await adapter.shutdown()
    assert not probe.ok
    assert probe.detail == "whatsapp phone number probe: VENDOR_REJECTED (HTTP 404)"


async def test_the_probe_fails_when_graph_cannot_be_reached() -> None:
    async with fake_graph() as graph:
        url = graph.url  # closed once the block ends
    adapter = WhatsAppAdapter(account(url), probe_timeout_s=2.0)
    probe = await adapter.health_check()
    await adapter.shutdown()
    assert not probe.ok
    assert probe.error is not None
    assert probe.error.reason == "VENDOR_UNAVAILABLE"


async def test_an_unconfigured_account_probes_false_and_refuses_sends() -> None:
    adapter = WhatsAppAdapter(WhatsAppAccount(phone_number_id=PHONE_NUMBER_ID))
    assert not adapter.configured
    probe = await adapter.health_check()
    assert (probe.ok, probe.error) == (False, None)
    with pytest.raises(NotConfigured):
        await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())


# --- the account ------------------------------------------------------------------------------


async def test_the_token_may_come_from_a_file(tmp_path: Path) -> None:
    token = tmp_path / "whatsapp-token"
    token.write_text(f"{ACCESS_TOKEN}\n", encoding="utf-8")
    async with fake_graph() as graph:
        adapter = WhatsAppAdapter(account(graph.url, access_token=None, access_token_file=token))
        probe = await adapter.health_check()
        await adapter.shutdown()
    assert probe.ok, probe


async def test_a_missing_token_file_is_not_configured(tmp_path: Path) -> None:
    adapter = WhatsAppAdapter(
        account("http://127.0.0.1:9", access_token=None, access_token_file=tmp_path / "absent")
    )
    with pytest.raises(NotConfigured, match="cannot read access_token_file"):
        await adapter.initialize()


@pytest.mark.parametrize(
    "fields",
    [
        {"phone_number_id": "+15550100"},
        {"graph_version": "23.0"},
        {"acces_token": "t"},
    ],
)
def test_account_settings_are_checked(fields: dict[str, Any]) -> None:
    with pytest.raises(ValidationError):
        WhatsAppAccount(**fields)


async def test_a_stopped_adapter_refuses_sends() -> None:
    async with rig() as (adapter, _, vendor):
        await adapter.shutdown()
        with pytest.raises(ShuttingDown):
            await adapter.execute("send_text", SendText.model_validate(TEXT), attempt())
    assert vendor.requests == []
