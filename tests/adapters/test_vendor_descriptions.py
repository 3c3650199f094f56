"""The harness the adapter tests rely on: Prism serves a vendor's published description, the
recorder keeps what was sent, and the description's schemas refuse what the vendor would."""

from __future__ import annotations

import aiohttp
import pytest
from multidict import CIMultiDict, CIMultiDictProxy

from tests.support.prism import PrismServers
from tests.support.vendor_recorder import RecordedRequest, VendorRecorder
from tests.support.vendor_schema import VendorSchema

STRIPE = "stripe/spec3.trimmed.yaml"
TWILIO = "twilio/twilio_api_v2010.calls-messages.json"
TWILIO_PRISM = "twilio/twilio_api_v2010.calls-messages.prism.json"
CAL = "calcom/openapi.v2.bookings-slots-event-types.json"
DOCUSIGN = "docusign/esignature.rest.swagger-v2.1.envelopes.json"
WHATSAPP = "whatsapp/business-messaging-api_v23.0.messages.yaml"
ACCOUNT = "AC" + "0" * 32
AUTH = {"Authorization": aiohttp.encode_basic_auth(ACCOUNT, "token")}


def sent(
    method: str,
    path: str,
    body: bytes = b"",
    content_type: str = "",
    query: str = "",
    **headers: str,
) -> RecordedRequest:
    all_headers: CIMultiDict[str] = CIMultiDict(headers)
    if content_type:
        all_headers["Content-Type"] = content_type
    return RecordedRequest(method, path, query, CIMultiDictProxy(all_headers), body)


FORM = "application/x-www-form-urlencoded"


def test_a_stripe_form_with_nested_parameters_is_valid() -> None:
    stripe = VendorSchema.load(STRIPE)
    stripe.check(
        sent(
            "POST",
            "/v1/payment_links",
            b"line_items[0][price]=price_1&line_items[0][quantity]=2&metadata[order]=42",
            FORM,
        )
    )
    stripe.check(sent("POST", "/v1/payment_intents", b"amount=2000&currency=usd", FORM))


def test_a_misspelt_or_mistyped_stripe_field_is_named() -> None:
    stripe = VendorSchema.load(STRIPE)
    problems = stripe.violations(
        sent("POST", "/v1/payment_intents", b"amount=abc&currency=usd&amuont=3", FORM)
    )
    assert any("amount" in p and "abc" in p for p in problems), problems
    assert any("amuont" in p for p in problems), problems
    missing = stripe.violations(sent("POST", "/v1/payment_intents", b"amount=2000", FORM))
    assert any("currency" in p for p in missing), missing


def test_an_unknown_path_or_query_parameter_is_refused() -> None:
    stripe = VendorSchema.load(STRIPE)
    with pytest.raises(AssertionError, match="no operation"):
        stripe.check(sent("POST", "/v1/charges", b"amount=1", FORM))
    problems = stripe.violations(sent("GET", "/v1/payment_intents/pi_1", query="expnad[]=x"))
    assert any("expnad" in p for p in problems), problems


def test_a_twilio_form_with_a_repeated_key_is_valid_and_a_wrong_name_is_not() -> None:
    twilio = VendorSchema.load(TWILIO)
    path = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
    body = b"To=%2B15558675310&From=%2B15017122661&Url=https%3A%2F%2Fexample.com%2Ftwiml"
    body += b"&StatusCallbackEvent=initiated&StatusCallbackEvent=answered"
    twilio.check(sent("POST", path, body, FORM))
    problems = twilio.violations(sent("POST", path, b"to=%2B15558675310&From=x&Url=y", FORM))
    assert any("'to'" in p for p in problems), problems


def test_a_cal_booking_with_an_unknown_property_is_refused() -> None:
    cal = VendorSchema.load(CAL)
    booking = (
        b'{"start": "2026-12-10T09:00:00Z", "eventTypeId": 7, '
        b'"attendee": {"name": "A", "email": "a@example.com", "timeZone": "Asia/Riyadh"}}'
    )
    headers = {"cal-api-version": "2024-08-13"}
    cal.check(sent("POST", "/v2/bookings", booking, "application/json", **headers))
    wrong = booking.replace(b'"eventTypeId"', b'"eventType"')
    assert cal.violations(sent("POST", "/v2/bookings", wrong, "application/json", **headers))
    missing_header = cal.violations(sent("POST", "/v2/bookings", booking, "application/json"))
    assert any("cal-api-version" in p for p in missing_header), missing_header


def test_a_docusign_envelope_is_checked_against_a_swagger_2_body() -> None:
    docusign = VendorSchema.load(DOCUSIGN)
    path = "/restapi/v2.1/accounts/acc-1/envelopes"
    good = b'{"emailSubject": "Please sign", "status": "sent", "documents": []}'
    docusign.check(sent("POST", path, good, "application/json"))
    bad = b'{"emailSubject": "Please sign", "statuss": "sent"}'
    problems = docusign.violations(sent("POST", path, bad, "application/json"))
    assert any("statuss" in p for p in problems), problems


def test_a_whatsapp_message_is_checked_against_openapi_3_1() -> None:
    whatsapp = VendorSchema.load(WHATSAPP)
    path = "/v23.0/1234567890/messages"
    good = b'{"messaging_product": "whatsapp", "recipient_type": "individual", '
    good += b'"to": "15551234567", "type": "text", '
    good += b'"text": {"body": "hello"}}'
    whatsapp.check(sent("POST", path, good, "application/json"))
    bad = good.replace(b'"body"', b'"bdy"')
    assert whatsapp.violations(sent("POST", path, bad, "application/json"))
    extra = good.replace(b'"type": "text"', b'"type": "text", "colour": "red"')
    assert whatsapp.violations(sent("POST", path, extra, "application/json"))


async def test_prism_serves_the_description_and_the_recorder_keeps_the_request(
    prism: PrismServers,
) -> None:
    async with VendorRecorder(prism.url(TWILIO_PRISM)) as vendor, aiohttp.ClientSession() as http:
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Calls.json"
        form = {"To": "+15558675310", "From": "+15017122661", "Url": "https://example.com/t"}
        async with http.post(vendor.url + path, data=form, headers=AUTH) as answer:
            assert answer.status == 201
            assert (await answer.json())["sid"].startswith("CA")
        async with http.post(
            vendor.url + path,
            data=form,
            headers={**AUTH, "Prefer": "code=500"},
        ) as answer:
            assert answer.status == 500
    assert vendor.statuses == [201, 500]
    request = vendor.requests[0]
    assert request.form_dict()["To"] == "+15558675310"
    VendorSchema.load(TWILIO).check(request)


async def test_a_dropped_answer_still_reached_the_vendor(prism: PrismServers) -> None:
    async with VendorRecorder(prism.url(TWILIO_PRISM)) as vendor, aiohttp.ClientSession() as http:
        vendor.drop_after_forwarding()
        path = f"/2010-04-01/Accounts/{ACCOUNT}/Calls/CA{'a' * 32}.json"
        with pytest.raises(aiohttp.ClientError):
            # A POST, which aiohttp never sends twice by itself (it repeats idempotent
            # methods once when a fresh connection drops).
            async with http.post(vendor.url + path, data={"Status": "canceled"}, headers=AUTH):
                pass
    assert vendor.statuses == [200]  # the vendor answered; the caller never heard it
    assert len(vendor.requests) == 1
