"""A gateway whose ``whatsapp`` connector talks, through a recorder, to Prism serving Meta's
published description, or to the small Graph API; and the messages an agent sends."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from dataclasses import dataclass
from pathlib import Path
from typing import Any

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.whatsapp.fake_graph import ACCESS_TOKEN, PHONE_NUMBER_ID
from tests.integration.approved import approved
from tests.integration.reasons.observe import AGENT
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.prefer_proxy import PreferProxy
from tests.support.vendor_recorder import VendorRecorder

WHATSAPP = "whatsapp/business-messaging-api_v23.0.messages.yaml"
WHATSAPP_PRISM = "whatsapp/business-messaging-api_v23.0.messages.prism.yaml"
MESSAGES = f"/v23.0/{PHONE_NUMBER_ID}/messages"

TEXT = {"to": "+966501234567", "text": {"body": "Your order has shipped."}}


@dataclass
class WhatsApp:
    gw: RunningGateway
    vendor: VendorRecorder  # what reached WhatsApp (Prism or the fake), as the adapter sent it


@asynccontextmanager
async def whatsapp_gateway(
    tmp_path: Path, upstream: str, *, account: dict[str, Any] | None = None, **settings: Any
) -> AsyncIterator[WhatsApp]:
    """A development-mode gateway whose WhatsApp account talks to ``upstream`` through a
    recorder."""
    async with VendorRecorder(upstream) as vendor:
        config = gateway_settings(
            tmp_path,
            whatsapp={
                "phone_number_id": PHONE_NUMBER_ID,
                "access_token": ACCESS_TOKEN,
                "base_url": vendor.url,
            }
            | (account or {}),
            **settings,
        )
        async with running_gateway(config) as gw:
            yield WhatsApp(gw, vendor)


@asynccontextmanager
async def prism_whatsapp(
    tmp_path: Path, prism_url: str, **settings: Any
) -> AsyncIterator[tuple[WhatsApp, PreferProxy]]:
    """The WhatsApp connector at Prism, through a proxy that can ask Prism for an error."""
    async with (
        PreferProxy(prism_url) as prefer,
        whatsapp_gateway(tmp_path, prefer.url, **settings) as whatsapp,
    ):
        yield whatsapp, prefer


def execute(
    operation: str, payload: dict[str, Any], key: str, approval_id: str = ""
) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="whatsapp", operation=operation, idempotency_key=key, approval_id=approval_id
    )
    request.payload.update(payload)
    return request


async def send(
    whatsapp: WhatsApp, operation: str, payload: dict[str, Any], key: str
) -> pb.ExecuteResponse:
    """Sends a message with a person's approval."""
    request = await approved(whatsapp.gw, execute(operation, payload, key))
    response: pb.ExecuteResponse = await whatsapp.gw.stub.Execute(
        request, metadata=AGENT, timeout=20
    )
    return response
