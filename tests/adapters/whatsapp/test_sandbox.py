"""The real WhatsApp adapter against the Graph sandbox: text and template messages, the
24-hour customer service window, the probe, each tenant's own number, Graph's answers and
error bodies, and the configured faults."""

from __future__ import annotations

import json
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest
from pydantic import SecretStr

from adapters.whatsapp.account import WhatsAppAccount
from adapters.whatsapp.adapter import WhatsAppAdapter
from adapters.whatsapp.operations import SendTemplate, SendText
from adapters.whatsapp.sandbox import NEVER_WROTE, WhatsAppSandbox
from gateway.errors import (
    GatewayError,
    MessagingWindowClosed,
    VendorAuthFailed,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from gateway.sandbox import SandboxFault
from tests.support.vendor_adapters import attempt, initialized, serving
from tests.support.vendor_answers import answer_violations

pytestmark = pytest.mark.timeout(20)

WHATSAPP = "whatsapp/business-messaging-api_v23.0.messages.yaml"
ANSWER_SCHEMA = "/components/schemas/MessageResponsePayload"
[NEVER] = sorted(NEVER_WROTE)
TEXT = {
    "to": "+966501234567",
    "text": {"body": "Your order has shipped.", "preview_url": False},
    "context": {"message_id": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww"},
}
TEMPLATE = {
    "to": NEVER,
    "template": {
        "name": "order_confirmation",
        "language": {"code": "ar"},
        "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sara"}]}],
    },
}


def sandbox(fault: SandboxFault | None = None) -> AbstractAsyncContextManager[WhatsAppSandbox]:
    return serving(WhatsAppSandbox(fault))


def adapter_of(account: WhatsAppAccount) -> AbstractAsyncContextManager[WhatsAppAdapter]:
    return initialized(WhatsAppAdapter(account))


async def send_text(adapter: WhatsAppAdapter, **changes: Any) -> dict[str, Any]:
    payload = SendText.model_validate(TEXT | changes)
    return dict(await adapter.execute("send_text", payload, attempt()))


async def raw(
    account: WhatsAppAccount, method: str, path: str, body: Any = None, *, number: str = ""
) -> tuple[int, Any]:
    """A request as Graph's own clients send it (to ``number``, by default the account's
    own phone number id), and the answer."""
    assert account.access_token is not None
    url = f"{account.base_url}/v23.0/{number or account.phone_number_id}{path}"
    headers = {"Authorization": f"Bearer {account.access_token.get_secret_value()}"}
    async with (
        aiohttp.ClientSession() as client,
        client.request(method, url, json=body, headers=headers) as answer,
    ):
        return answer.status, await answer.json()


async def test_a_text_is_answered_as_graph_answers_and_kept() -> None:
    async with sandbox() as graph:
        account = graph.account_for("acme")
        assert account.base_url.startswith("http://127.0.0.1:")
        assert graph.account_for("acme") == account
        async with adapter_of(account) as adapter:
            sent = await send_text(adapter)
        assert sent["message_id"].startswith("wamid.")
        assert (sent["wa_id"], sent["message_status"]) == ("966501234567", "accepted")
        assert graph.received("acme") == [
            {
                "message_id": sent["message_id"],
                "to": "+966501234567",
                "type": "text",
                "text": "Your order has shipped.",
                "reply_to": "wamid.gBGGSFcCNEOPAgkO_KJ55r4w_ww",
            }
        ]
        assert graph.received("globex") == []
        message = {"messaging_product": "whatsapp", "to": "15550109999", "type": "text"}
        status, answer = await raw(account, "POST", "/messages", message | {"text": {"body": "x"}})
        assert status == 200
        assert answer_violations(WHATSAPP, ANSWER_SCHEMA, answer) == []
        assert answer["contacts"] == [{"input": "15550109999", "wa_id": "15550109999"}]


async def test_a_recipient_who_never_wrote_gets_a_template_but_no_text() -> None:
    async with sandbox() as graph, adapter_of(graph.account_for("acme")) as adapter:
        with pytest.raises(MessagingWindowClosed) as caught:
            await send_text(adapter, to=NEVER)
        assert (caught.value.metadata["vendor_code"], caught.value.metadata["vendor_status"]) == (
            "131047",
            "400",
        )
        assert "send_template" in str(caught.value)
        assert graph.received("acme") == []

        payload = SendTemplate.model_validate(TEMPLATE)
        sent = await adapter.execute("send_template", payload, attempt())
        assert sent["wa_id"] == NEVER.lstrip("+")
        [kept] = graph.received("acme")
        assert kept == {
            "message_id": sent["message_id"],
            "to": NEVER,
            "type": "template",
            "template": "order_confirmation",
            "language": "ar",
            "components": [{"type": "body", "parameters": [{"type": "text", "text": "Sara"}]}],
        }
        # A template opens no customer service window: only the recipient's own message does.
        with pytest.raises(MessagingWindowClosed):
            await send_text(adapter, to=NEVER)


async def test_the_window_closed_answer_is_graphs() -> None:
    async with sandbox() as graph:
        message = {
            "messaging_product": "whatsapp",
            "recipient_type": "individual",
            "to": NEVER.lstrip("+"),  # Graph takes the number with or without its +
            "type": "text",
            "text": {"body": "hello"},
        }
        status, body = await raw(graph.account_for("acme"), "POST", "/messages", message)
        assert status == 400
        error = body["error"]
        assert (error["code"], error["type"], error["message"]) == (
            131047,
            "OAuthException",
            "(#131047) Re-engagement message",
        )
        assert error["error_data"]["details"].startswith("Message failed to send because more")
        assert error["fbtrace_id"]


async def test_each_tenant_sends_from_its_own_number_only() -> None:
    async with sandbox() as graph:
        acme, globex = graph.account_for("acme"), graph.account_for("globex")
        assert acme.phone_number_id != globex.phone_number_id
        assert acme.access_token != globex.access_token
        assert acme.phone_number_id is not None
        for method, path in (("GET", ""), ("POST", "/messages")):
            status, body = await raw(
                globex, method, path, {"messaging_product": "whatsapp"}, number=acme.phone_number_id
            )
            assert status == 400
            assert (body["error"]["code"], body["error"]["error_subcode"]) == (100, 33)
        wrong = acme.model_copy(update={"access_token": globex.access_token})
        async with adapter_of(wrong) as adapter:
            with pytest.raises(VendorRejected):
                await send_text(adapter)
        assert graph.received("acme") == graph.received("globex") == []


async def test_the_probe_reads_the_tenants_phone_number() -> None:
    async with sandbox() as graph:
        account = graph.account_for("acme")
        async with adapter_of(account) as adapter:
            probe = await adapter.health_check()
        assert (probe.ok, probe.detail) == (True, "whatsapp phone number probe: ok")
        status, body = await raw(account, "GET", "")
        assert (status, body["id"]) == (200, account.phone_number_id)
        unknown = account.model_copy(update={"access_token": SecretStr("EAAguessed")})
        async with adapter_of(unknown) as adapter:
            refused = await adapter.health_check()
        assert isinstance(refused.error, VendorAuthFailed)
        assert refused.error.metadata["vendor_code"] == "190"


@pytest.mark.parametrize(
    ("message", "code"),
    [
        ({"to": "+966501234567", "type": "text", "text": {"body": "x"}}, 100),
        ({"messaging_product": "whatsapp", "type": "text", "text": {"body": "x"}}, 131008),
        ({"messaging_product": "whatsapp", "to": "call me", "type": "text"}, 131009),
        ({"messaging_product": "whatsapp", "to": "+966501234567", "type": "image"}, 131051),
        ({"messaging_product": "whatsapp", "to": "+966501234567", "type": "text"}, 131008),
        ({"messaging_product": "whatsapp", "to": "+966501234567", "text": {"body": ""}}, 131008),
        (
            {
                "messaging_product": "whatsapp",
                "to": "+966501234567",
                "type": "template",
                "template": {"name": "order_confirmation"},
            },
            131008,
        ),
    ],
)
async def test_a_message_graph_would_refuse_is_refused_in_its_error_body_and_not_kept(
    message: dict[str, Any], code: int
) -> None:
    async with sandbox() as graph:
        status, body = await raw(graph.account_for("acme"), "POST", "/messages", message)
        assert status == 400
        assert set(body) == {"error"}
        assert body["error"]["code"] == code
        assert body["error"]["message"].startswith(f"(#{code}) ")
        assert graph.received("acme") == []


@pytest.mark.parametrize(
    ("status", "code", "refused"),
    [(429, "130429", VendorRateLimited), (503, "131016", VendorUnavailable)],
)
async def test_a_status_fault_acts_on_nothing_then_the_sandbox_behaves(
    status: int, code: str, refused: type[GatewayError]
) -> None:
    fault = SandboxFault(status=status, at="POST /v23.0/", times=1)
    async with sandbox(fault) as graph, adapter_of(graph.account_for("acme")) as adapter:
        assert (await adapter.health_check()).ok  # a GET is not covered
        with pytest.raises(refused) as caught:
            await send_text(adapter)
        assert caught.value.metadata["vendor_code"] == code
        assert graph.received("acme") == []
        await send_text(adapter)
        assert len(graph.received("acme")) == 1


async def test_a_dropped_answer_leaves_the_message_sent() -> None:
    fault = SandboxFault(drop=True, at="POST /v23.0/")
    async with sandbox(fault) as graph, adapter_of(graph.account_for("acme")) as adapter:
        with pytest.raises(VendorUnavailable) as caught:
            await send_text(adapter)
        assert caught.value.may_have_acted  # the gateway answers OUTCOME_UNKNOWN
        [kept] = graph.received("acme")
        assert kept["text"] == "Your order has shipped."


async def test_no_access_token_is_kept_or_answered() -> None:
    async with sandbox() as graph:
        account = graph.account_for("acme")
        assert account.access_token is not None
        token = account.access_token.get_secret_value()
        async with adapter_of(account) as adapter:
            await send_text(adapter)
        status, body = await raw(account, "GET", "")
        assert status == 200
        assert token not in json.dumps([graph.received("acme"), body])
