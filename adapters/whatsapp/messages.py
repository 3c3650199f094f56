"""The messages resource on the wire: the JSON Graph takes, and what it answers."""

from __future__ import annotations

from typing import Any

from gateway.errors import VendorBadResponse

from .operations import SendTemplate, SendText


def _envelope(to: str, kind: str) -> dict[str, Any]:
    return {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": to,
        "type": kind,
    }


def text_message(payload: SendText) -> dict[str, Any]:
    message = _envelope(payload.to, "text")
    if payload.context is not None:
        message["context"] = payload.context.model_dump()
    message["text"] = payload.text.model_dump()
    return message


def template_message(payload: SendTemplate) -> dict[str, Any]:
    """The template with its language policy spelt out (Graph's schema requires it) and no
    empty component list."""
    message = _envelope(payload.to, "template")
    template = payload.template.model_dump(exclude_none=True)
    if not template["components"]:
        del template["components"]
    message["template"] = template
    return message


def sent_result(body: Any, where: str) -> dict[str, Any]:
    """The message id WhatsApp gave the message (``wamid.…``) and the recipient's WhatsApp
    id; an answer without a message id is not one the gateway can use."""
    messages = body.get("messages") if isinstance(body, dict) else None
    first = messages[0] if isinstance(messages, list) and messages else None
    message_id = first.get("id") if isinstance(first, dict) else None
    if not isinstance(message_id, str) or not message_id:
        raise VendorBadResponse(f"whatsapp answered {where} without a message id")
    result: dict[str, Any] = {"message_id": message_id}
    if isinstance(first, dict) and isinstance(first.get("message_status"), str):
        result["message_status"] = first["message_status"]
    contacts = body.get("contacts") if isinstance(body, dict) else None
    contact = contacts[0] if isinstance(contacts, list) and contacts else None
    if isinstance(contact, dict) and isinstance(contact.get("wa_id"), str):
        result["wa_id"] = contact["wa_id"]
    return result
