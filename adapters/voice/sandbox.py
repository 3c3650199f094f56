"""Twilio Voice in the gateway's own process, for tenants without a Twilio account of their own.

Each tenant has an account of its own at the sandbox: an Account SID and an Auth Token drawn
at start (never written anywhere), which the real adapter presents as HTTP Basic auth exactly
as to Twilio. The sandbox answers the requests the adapter makes:

* ``GET /2010-04-01/Accounts/{AccountSid}.json``: the account, ``active`` (the health probe);
* ``POST …/Calls.json``: places a call (form-encoded, ``StatusCallbackEvent`` repeated once
  per event), answered 201 with the call, ``queued``;
* ``GET …/Calls/{Sid}.json``: the call as it now is;
* ``POST …/Calls/{Sid}.json`` with ``Status``: ends the call (``sandbox_calls`` says how).

A path naming another account's SID, or a call the tenant did not place, is Twilio's 404
(20404). Errors have Twilio's body, ``{code, message, more_info, status}``; a fault
(``sandbox.fail.voice``) answers code 20000 + its status (20003 for a 401).
"""

from __future__ import annotations

import base64
import binascii
import re
import secrets
from typing import Any

from aiohttp import web
from pydantic import SecretStr

from adapters.http.sandbox import HttpSandbox
from gateway.sandbox import SandboxFault

from .account import VoiceAccount
from .operations import MAX_TWIML
from .sandbox_calls import API_VERSION, after_placing, move, new_call, updated_status

PREFIX = f"/{API_VERSION}/Accounts/{{account}}"
PHONE = re.compile(r"^\+[1-9][0-9]{1,14}$")
EVENTS = frozenset({"initiated", "ringing", "answered", "completed"})
MAX_KEPT_CHARS = MAX_TWIML  # of Twiml and Url, as a record keeps them


def twilio_error_body(status: int, code: int, message: str) -> dict[str, Any]:
    return {
        "code": code,
        "message": message,
        "more_info": f"https://www.twilio.com/docs/errors/{code}",
        "status": status,
    }


def _hex_sid(prefix: str) -> str:
    return prefix + secrets.token_hex(16)


class VoiceSandbox(HttpSandbox[VoiceAccount]):
    """Satisfies ``gateway.sandbox.VendorSandbox`` with ``VoiceAccount`` accounts."""

    key = "voice"

    def __init__(self, fault: SandboxFault | None = None) -> None:
        super().__init__(fault)
        self._account_sids: dict[str, str] = {}  # tenant -> its Account SID

    # --- the vendor's account and credentials -----------------------------------------------

    def _account_sid(self, tenant: str) -> str:
        return self._account_sids.setdefault(tenant, _hex_sid("AC"))

    def new_credential(self, tenant: str) -> str:
        """``AccountSid:AuthToken``, the pair HTTP Basic auth carries."""
        return f"{self._account_sid(tenant)}:{secrets.token_hex(16)}"

    def credential_of(self, request: web.Request) -> str | None:
        """The ``user:password`` pair of HTTP Basic auth (RFC 7617)."""
        scheme, _, encoded = request.headers.get("Authorization", "").partition(" ")
        if scheme.lower() != "basic":
            return None
        try:
            return base64.b64decode(encoded.strip(), validate=True).decode("utf-8")
        except (binascii.Error, UnicodeDecodeError):
            return None

    def account(self, tenant: str, base_url: str, credential: str) -> VoiceAccount:
        account_sid, _, token = credential.partition(":")
        return VoiceAccount(account_sid=account_sid, auth_token=SecretStr(token), base_url=base_url)

    def error_body(self, status: int, code: str, message: str) -> Any:
        number = int(code) if code.isdigit() else 20003 if status == 401 else 20000 + status
        return twilio_error_body(status, number, message)

    # --- routes -----------------------------------------------------------------------------

    def add_routes(self, app: web.Application) -> None:
        app.router.add_get(f"{PREFIX}.json", self.get_account)
        app.router.add_post(f"{PREFIX}/Calls.json", self.place_call)
        app.router.add_get(f"{PREFIX}/Calls/{{sid}}.json", self.get_call)
        app.router.add_post(f"{PREFIX}/Calls/{{sid}}.json", self.update_call)

    def _refuse(self, status: int, code: int, message: str) -> web.Response:
        return self.error(status, str(code), message)

    def _not_found(self, request: web.Request) -> web.Response:
        return self._refuse(404, 20404, f"The requested resource {request.path} was not found")

    def _owns(self, request: web.Request) -> bool:
        """The path names the account of the credentials' tenant."""
        tenant = self.tenant_of(request)
        return request.match_info["account"] == self._account_sids.get(tenant)

    def _call_of(self, request: web.Request) -> dict[str, Any] | None:
        if not self._owns(request):
            return None
        return self.objects(self.tenant_of(request), "call").get(request.match_info["sid"])

    async def get_account(self, request: web.Request) -> web.Response:
        if not self._owns(request):
            return self._not_found(request)
        sid = request.match_info["account"]
        return web.json_response(
            {
                "sid": sid,
                "friendly_name": "Gateway sandbox",
                "status": "active",
                "type": "Full",
                "owner_account_sid": sid,
                "uri": f"/{API_VERSION}/Accounts/{sid}.json",
            }
        )

    async def place_call(self, request: web.Request) -> web.Response:
        if not self._owns(request):
            return self._not_found(request)
        form = await request.post()
        fields = {name: str(value) for name, value in form.items()}
        events = [str(event) for event in form.getall("StatusCallbackEvent", [])]
        refused = self._refusal_of_call(fields, events)
        if refused is not None:
            return refused
        tenant = self.tenant_of(request)
        sid = _hex_sid("CA")
        call = new_call(sid, request.match_info["account"], fields["To"], fields["From"])
        answer = dict(call)  # Twilio's answer: the call as it was queued
        after_placing(call)
        self.objects(tenant, "call")[sid] = call
        self.record(tenant, self._placed(call, fields, events))
        return web.json_response(answer, status=201)

    def _refusal_of_call(self, fields: dict[str, str], events: list[str]) -> web.Response | None:
        if not fields.get("To"):
            return self._refuse(400, 21201, "No 'To' number is specified")
        if not fields.get("From"):
            return self._refuse(400, 21213, "No 'From' number is specified")
        if not PHONE.match(fields["To"]):
            return self._refuse(400, 21211, "The 'To' number is not a valid phone number")
        if not PHONE.match(fields["From"]):
            return self._refuse(400, 21212, "The 'From' number is not a valid phone number")
        if ("Twiml" in fields) == ("Url" in fields):
            return self._refuse(400, 21200, "Give exactly one of Twiml and Url")
        if any(event not in EVENTS for event in events):
            return self._refuse(400, 21626, "One or more of the StatusCallbackEvents are invalid")
        return None

    @staticmethod
    def _placed(call: dict[str, Any], fields: dict[str, str], events: list[str]) -> dict[str, Any]:
        """What ``sandbox show`` lists of a placed call: what was asked, and its status."""
        entry: dict[str, Any] = {
            "event": "call placed",
            "call_sid": call["sid"],
            "to": call["to"],
            "from": call["from"],
            "status": call["status"],
        }
        for name in ("Twiml", "Url", "StatusCallback", "Timeout", "TimeLimit", "Record"):
            if name in fields:
                entry[name] = fields[name][:MAX_KEPT_CHARS]
        if events:
            entry["StatusCallbackEvent"] = events
        return entry

    async def get_call(self, request: web.Request) -> web.Response:
        call = self._call_of(request)
        if call is None:
            return self._not_found(request)
        return web.json_response(call)

    async def update_call(self, request: web.Request) -> web.Response:
        call = self._call_of(request)
        if call is None:
            return self._not_found(request)
        wanted = str((await request.post()).get("Status", ""))
        if wanted not in ("canceled", "completed"):
            return self._refuse(
                400, 21200, "The sandbox updates a call's Status only: canceled or completed"
            )
        before = str(call["status"])
        after = updated_status(before, wanted)
        if after is None:
            return self._refuse(
                400, 21220, f"Call is not in a state that can be {wanted}: it is {before}"
            )
        move(call, after)
        self.record(
            self.tenant_of(request),
            {
                "event": "call updated",
                "call_sid": call["sid"],
                "requested_status": wanted,
                "previous_status": before,
                "status": after,
            },
        )
        return web.json_response(call)
