"""WhatsApp's Cloud API in the gateway's own process, for tenants without a WhatsApp Business
number of their own.

Each tenant has a business phone number of its own at the sandbox (a Graph id drawn at start)
and a system user access token for it, which the real adapter sends as a bearer token
exactly as to Graph. The sandbox answers the requests the adapter makes:

* ``GET /{version}/{phone-number-id}``: the phone number (the health probe);
* ``POST /{version}/{phone-number-id}/messages``: sends a ``text`` or ``template`` message,
  answered with Graph's ``messaging_product``, ``contacts[{input, wa_id}]`` and
  ``messages[{id, message_status}]``. Every template name and language is approved.

**The 24-hour customer service window.** WhatsApp takes a free-form text only from a business
the recipient wrote to within the last 24 hours; outside that window only a template goes out.
In the sandbox every recipient wrote a moment ago, except those who never did
(``NEVER_WROTE``): a text to one of them is refused with Graph's 131047 (re-engagement
message), which the gateway answers ``MESSAGING_WINDOW_CLOSED``, and a template reaches them.

Another tenant's phone number id is Graph's "object does not exist" (code 100, subcode 33).
Errors have Graph's body, ``{"error": {message, type, code, error_subcode, fbtrace_id}}``; a
fault (``sandbox.fail.whatsapp``) answers the code Graph gives its status (``FAULT_CODES``).
"""

from __future__ import annotations

import re
import secrets
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import HttpSandbox
from gateway.sandbox import SandboxFault

from .account import WhatsAppAccount
from .operations import MAX_TEXT_BODY

# Recipients who never wrote to the business: their customer service window is closed.
NEVER_WROTE = frozenset({"+15550100000"})

VERSION = re.compile(r"^v[0-9]{1,3}\.[0-9]{1,3}$")
RECIPIENT = re.compile(r"^\+?[1-9][0-9]{1,14}$")
KINDS = ("text", "template")
# The code Graph answers with each status, for a fault; others: 131000 (5xx) or 100 (4xx).
FAULT_CODES = {401: 190, 403: 200, 429: 130429, 503: 131016}
WINDOW_CLOSED_DETAILS = (
    "Message failed to send because more than 24 hours have passed since the customer last "
    "replied to this number."
)


def graph_error_body(
    code: int, message: str, *, subcode: int | None = None, details: str | None = None
) -> dict[str, Any]:
    error: dict[str, Any] = {
        "message": f"(#{code}) {message}",
        "type": "OAuthException",
        "code": code,
    }
    if details is not None:
        error["error_data"] = {"messaging_product": "whatsapp", "details": details}
    if subcode is not None:
        error["error_subcode"] = subcode
    error["fbtrace_id"] = secrets.token_urlsafe(9)
    return {"error": error}


def _wa_id(recipient: str) -> str:
    """The recipient's WhatsApp id: the number's digits."""
    return recipient.lstrip("+")


class WhatsAppSandbox(HttpSandbox[WhatsAppAccount]):
    """Satisfies ``gateway.sandbox.VendorSandbox`` with ``WhatsAppAccount`` accounts."""

    key = "whatsapp"

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._numbers: dict[str, str] = {}  # tenant -> its phone number's Graph id

    # --- the vendor's account and credentials -----------------------------------------------

    def new_credential(self, tenant: str) -> str:
        return "EAA" + secrets.token_urlsafe(32)  # Graph's access tokens start so

    def account(self, tenant: str, base_url: str, credential: str) -> WhatsAppAccount:
        number = self._numbers.setdefault(tenant, str(10**14 + secrets.randbelow(9 * 10**14)))
        return WhatsAppAccount(
            phone_number_id=number, access_token=SecretStr(credential), base_url=base_url
        )

    def error_body(self, status: int, code: str, message: str) -> Any:
        number = int(code) if code.isdigit() else FAULT_CODES.get(status)
        if number is None:
            number = 131000 if status >= 500 else 100
        return graph_error_body(number, message)

    # --- routes -----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get("/{version}/{number}", self.get_number)
        app.router.add_post("/{version}/{number}/messages", self.send_message)

    @staticmethod
    def _refuse(
        status: int,
        code: int,
        message: str,
        *,
        subcode: int | None = None,
        details: str | None = None,
    ) -> web.Response:
        body = graph_error_body(code, message, subcode=subcode, details=details)
        return web.json_response(body, status=status)

    def _unknown_path(self, request: web.Request) -> web.Response | None:
        """Graph's refusal of a path that names no version, or no number of the tenant."""
        if not VERSION.match(request.match_info["version"]):
            return self._refuse(400, 2500, "Unknown path components")
        if request.match_info["number"] != self._numbers.get(self.tenant_of(request)):
            return self._refuse(
                400,
                100,
                f"Unsupported {request.method.lower()} request. Object with ID "
                f"'{request.match_info['number'][:32]}' does not exist, cannot be loaded due "
                "to missing permissions, or does not support this operation",
                subcode=33,
            )
        return None

    async def get_number(self, request: web.Request) -> web.Response:
        refused = self._unknown_path(request)
        if refused is not None:
            return refused
        return web.json_response(
            {
                "verified_name": "Gateway sandbox",
                "display_phone_number": "+1 555-010-0999",
                "quality_rating": "GREEN",
                "code_verification_status": "VERIFIED",
                "platform_type": "CLOUD_API",
                "throughput": {"level": "STANDARD"},
                "id": request.match_info["number"],
            }
        )

    async def send_message(self, request: web.Request) -> web.Response:
        refused = self._unknown_path(request)
        if refused is not None:
            return refused
        try:
            message = await request.json()
        except ValueError:
            message = None
        if not isinstance(message, dict):
            return self._refuse(400, 100, "The request body is not a JSON object")
        refused = self._refusal_of(message)
        if refused is not None:
            return refused
        recipient = str(message["to"])
        message_id = "wamid." + secrets.token_urlsafe(36)
        self.record(self.tenant_of(request), self._sent(message_id, message))
        return web.json_response(
            {
                "messaging_product": "whatsapp",
                "contacts": [{"input": recipient, "wa_id": _wa_id(recipient)}],
                "messages": [{"id": message_id, "message_status": "accepted"}],
            }
        )

    def _refusal_of(self, message: dict[str, Any]) -> web.Response | None:
        """Graph's refusal of a message it would not send, or None."""
        if message.get("messaging_product") != "whatsapp":
            return self._refuse(400, 100, "The parameter messaging_product is required.")
        recipient, kind = message.get("to"), message.get("type", "text")
        if not isinstance(recipient, str) or not recipient:
            return self._refuse(400, 131008, "Required parameter is missing", details="to")
        if not RECIPIENT.match(recipient):
            return self._refuse(400, 131009, "Parameter value is not valid", details="to")
        if message.get("recipient_type", "individual") != "individual":
            return self._refuse(
                400, 131009, "Parameter value is not valid", details="recipient_type"
            )
        if kind not in KINDS:
            return self._refuse(
                400, 131051, "Unsupported message type", details="the sandbox sends text, template"
            )
        missing = _missing_in(kind, message.get(kind))
        if missing is not None:
            return self._refuse(400, 131008, "Required parameter is missing", details=missing)
        if kind == "text" and _e164(recipient) in NEVER_WROTE:
            return self._refuse(400, 131047, "Re-engagement message", details=WINDOW_CLOSED_DETAILS)
        return None

    @staticmethod
    def _sent(message_id: str, message: dict[str, Any]) -> dict[str, Any]:
        """What ``sandbox show`` lists of a sent message."""
        kind = message.get("type", "text")
        entry: dict[str, Any] = {"message_id": message_id, "to": message["to"], "type": kind}
        if kind == "text":
            entry["text"] = message["text"]["body"]
        else:
            template = message["template"]
            entry["template"] = template["name"]
            entry["language"] = template["language"]["code"]
            if template.get("components"):
                entry["components"] = template["components"]
        context = message.get("context")
        if isinstance(context, dict) and isinstance(context.get("message_id"), str):
            entry["reply_to"] = context["message_id"]
        return entry


def _e164(recipient: str) -> str:
    return "+" + recipient.lstrip("+")


def _missing_in(kind: str, content: Any) -> str | None:
    """The required field a text or template message lacks (or has too long), or None."""
    if not isinstance(content, dict):
        return kind
    if kind == "text":
        body = content.get("body")
        ok = isinstance(body, str) and 0 < len(body) <= MAX_TEXT_BODY
        return None if ok else f"text.body (1 to {MAX_TEXT_BODY} characters)"
    language = content.get("language")
    if not isinstance(content.get("name"), str):
        return "template.name"
    if not (isinstance(language, dict) and isinstance(language.get("code"), str)):
        return "template.language.code"
    return None
