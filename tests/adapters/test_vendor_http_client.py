"""VendorHttpClient against a real fault-injecting HTTP vendor on 127.0.0.1.

Every outcome of an HTTP exchange maps to one domain error; these tests pin the class, the
reason, whether the vendor may have acted, the wait asked for, the vendor's own code and
message, and how many requests the vendor actually recorded (see
tests/support/fault_vendor.py).
"""

from __future__ import annotations

import asyncio
import contextlib
import email.utils
import errno
import socket
import time
from collections.abc import AsyncIterator, Iterator
from typing import Any

import pytest
from opentelemetry.sdk.trace import TracerProvider

from adapters.http import VendorHttpClient, default_error_parser, retry_after_ms
from gateway.contract import Adapter, AttemptContext
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    NotCompensable,
    ShuttingDown,
    VendorAuthFailed,
    VendorBadResponse,
    VendorError,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from tests.support import fault_vendor as fv
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.http_fake_adapter import AmountPayload, GetPayload, HttpFakeAdapter
from tests.support.smtp_peers import free_port
from tests.support.vendor_adapters import initialized

pytestmark = pytest.mark.timeout(5)

SECRET = "sk_test_51Hc0nfidentialKEY"
AUTHORIZATION = f"Bearer {SECRET}"
TIMEOUT_S = 2.0
# Room for scheduling on a loaded machine in the time bounds below; every wait they rule out
# (a timeout not applied to the connect or to the answer) is far longer.
SLACK_S = 2.0


@pytest.fixture
async def vendor() -> AsyncIterator[FaultVendor]:
    async with fault_vendor() as running:
        yield running


@pytest.fixture
async def client(vendor: FaultVendor) -> AsyncIterator[VendorHttpClient]:
    http = VendorHttpClient("acme", vendor.url, headers={"Authorization": AUTHORIZATION})
    await http.start()
    try:
        yield http
    finally:
        await http.close()


async def charge(client: VendorHttpClient, timeout_s: float = TIMEOUT_S) -> Any:
    return await client.request(
        "POST", "/v1/charge", json={"amount": 100}, idempotency_key="key-1", timeout_s=timeout_s
    )


async def failure(client: VendorHttpClient, timeout_s: float = TIMEOUT_S) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await charge(client, timeout_s)
    return caught.value


def assert_no_secret(error: GatewayError) -> None:
    texts = [str(error), repr(error), error.message, *error.metadata.values()]
    for text in texts:
        assert SECRET not in text
        assert AUTHORIZATION not in text


# --- success ---------------------------------------------------------------------------------


async def test_success_returns_parsed_json_and_forwards_headers(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    response = await charge(client)
    assert response.status == 200
    assert response.body == {"id": "obj_1", "echo": {"amount": 100}}
    assert response.headers["content-type"].startswith("application/json")
    [seen] = vendor.requests
    assert (seen.method, seen.path, seen.json) == ("POST", "/v1/charge", {"amount": 100})
    assert seen.headers["idempotency-key"] == "key-1"
    assert seen.headers["authorization"] == AUTHORIZATION
    assert "traceparent" not in seen.headers  # no span is active


async def test_empty_2xx_body_is_none(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.status(204))
    response = await charge(client)
    assert (response.status, response.body) == (204, None)


async def test_form_params_and_custom_idempotency_header(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    await client.request(
        "POST",
        "/2010-04-01/Messages.json",
        form={"To": "+14155550123", "Body": "hi"},
        params={"page": "2"},
        headers={"X-Extra": "1"},
        idempotency_key="key-2",
        idempotency_header="I-Twilio-Idempotency-Token",
        timeout_s=TIMEOUT_S,
    )
    [seen] = vendor.requests
    assert seen.query == {"page": "2"}
    assert seen.body == b"To=%2B14155550123&Body=hi"
    assert seen.headers["content-type"] == "application/x-www-form-urlencoded"
    assert seen.headers["i-twilio-idempotency-token"] == "key-2"
    assert seen.headers["x-extra"] == "1"
    assert "idempotency-key" not in seen.headers


async def test_connection_is_reused_and_a_timeout_on_it_may_have_acted(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    """A pooled connection is 'established' from the start: the reuse signal marks it."""
    await charge(client)
    vendor.script(fv.slow(1.0))
    error = await failure(client, timeout_s=0.2)
    assert vendor.connections == 1
    assert isinstance(error, DeadlineExceeded)
    assert error.may_have_acted
    assert len(vendor.requests) == 2


async def test_traceparent_of_the_current_span_is_sent(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    tracer = TracerProvider().get_tracer("test")
    with tracer.start_as_current_span("execute") as span:
        await charge(client)
    context = span.get_span_context()
    [seen] = vendor.requests
    assert seen.headers["traceparent"] == (
        f"00-{context.trace_id:032x}-{context.span_id:016x}-{context.trace_flags:02x}"
    )


# --- answers with an error status ------------------------------------------------------------


@pytest.mark.parametrize(
    ("code", "error_class", "reason", "may_have_acted", "retryable", "wait_ms"),
    [
        (400, VendorRejected, "VENDOR_REJECTED", False, False, None),
        (404, VendorRejected, "VENDOR_REJECTED", False, False, None),
        (409, VendorRejected, "VENDOR_REJECTED", False, False, None),
        (422, VendorRejected, "VENDOR_REJECTED", False, False, None),
        (401, VendorAuthFailed, "VENDOR_AUTH_FAILED", False, False, None),
        (403, VendorAuthFailed, "VENDOR_AUTH_FAILED", False, False, None),
        (429, VendorRateLimited, "VENDOR_RATE_LIMITED", False, True, 1000),
        (500, VendorError, "VENDOR_ERROR", True, False, None),
        (501, VendorError, "VENDOR_ERROR", True, False, None),
        (502, VendorUnavailable, "VENDOR_UNAVAILABLE", True, True, 1000),
        (503, VendorUnavailable, "VENDOR_UNAVAILABLE", False, True, 1000),
        (504, VendorUnavailable, "VENDOR_UNAVAILABLE", True, True, 1000),
    ],
)
async def test_status_maps_to_one_error(
    vendor: FaultVendor,
    client: VendorHttpClient,
    code: int,
    error_class: type[GatewayError],
    reason: str,
    may_have_acted: bool,
    retryable: bool,
    wait_ms: int | None,
) -> None:
    vendor.script(fv.status(code, {"error": {"code": f"e{code}", "message": f"failed {code}"}}))
    error = await failure(client)
    assert type(error) is error_class
    assert error.reason == reason
    assert error.may_have_acted is may_have_acted
    assert error.retryable is retryable
    assert error.retry_after_ms is None  # the vendor asked for no particular wait
    assert error.retry_info_ms == wait_ms  # so the class default is what the caller is told
    assert error.metadata == {
        "vendor_status": str(code),
        "vendor_code": f"e{code}",
        "vendor_message": f"failed {code}",
    }
    assert error.message.startswith(f"acme answered {code} (")
    assert "POST /v1/charge" in error.message
    assert len(vendor.requests) == 1
    assert_no_secret(error)


async def test_rejection_keeps_the_vendors_code_and_message(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    body = {"error": {"code": "invalid_request", "message": "Amount must be at least 50 cents"}}
    vendor.script(fv.status(400, body))
    error = await failure(client)
    assert isinstance(error, VendorRejected)
    assert error.metadata["vendor_code"] == "invalid_request"
    assert error.metadata["vendor_message"] == "Amount must be at least 50 cents"
    # What the vendor says stays in the metadata: it can quote the request.
    assert str(error) == (
        "acme answered 400 (bad request) to POST /v1/charge [invalid_request]: it refused the "
        "request for what it contains; change the request before trying again"
    )


async def test_error_without_a_body_has_only_the_status(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    vendor.script(fv.status(503))
    error = await failure(client)
    assert error.metadata == {"vendor_status": "503"}
    assert str(error) == (
        "acme answered 503 (service unavailable) to POST /v1/charge: it did not act; "
        "retry later with the same idempotency key"
    )


async def test_vendor_message_is_truncated(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.status(422, {"code": "too_long", "message": "x" * 2000}))
    error = await failure(client)
    assert len(error.metadata["vendor_message"]) == 300
    assert len(error.message) < 600


async def test_salesforce_error_list_and_text_bodies(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    vendor.script(
        fv.status(400, [{"errorCode": "INVALID_FIELD", "message": "No such column 'Foo'"}]),
        fv.status(502, "<html><body>Bad   Gateway</body></html>"),
    )
    first = await failure(client)
    assert first.metadata["vendor_code"] == "INVALID_FIELD"
    assert first.metadata["vendor_message"] == "No such column 'Foo'"
    second = await failure(client)
    assert "vendor_code" not in second.metadata
    assert second.metadata["vendor_message"] == "<html><body>Bad Gateway</body></html>"


async def test_custom_error_parser(vendor: FaultVendor) -> None:
    def parse(status: int, body: Any) -> tuple[str, str]:
        return str(body["fault"]["id"]), f"{status}: {body['fault']['text']}"

    http = VendorHttpClient("meta", vendor.url, error_parser=parse)
    vendor.script(fv.status(400, {"fault": {"id": 131026, "text": "Receiver incapable"}}))
    try:
        error = await failure(http)
    finally:
        await http.close()
    assert error.metadata["vendor_code"] == "131026"
    assert error.metadata["vendor_message"] == "400: Receiver incapable"
    assert error.message.startswith("meta answered 400")


async def test_a_failing_error_parser_does_not_hide_the_answer(vendor: FaultVendor) -> None:
    def parse(status: int, body: Any) -> tuple[str, str]:
        raise KeyError("bug")

    http = VendorHttpClient("acme", vendor.url, error_parser=parse)
    vendor.script(fv.status(409, {"anything": 1}))
    try:
        error = await failure(http)
    finally:
        await http.close()
    assert isinstance(error, VendorRejected)
    assert error.metadata == {"vendor_status": "409"}


@pytest.mark.parametrize(
    ("body", "expected"),
    [
        (
            {"error": {"code": "card_declined", "message": "Declined"}},
            ("card_declined", "Declined"),
        ),
        ({"error": {"type": "api_error", "message": "Oops"}}, ("api_error", "Oops")),
        ({"error": {"code": 190, "message": "Invalid token"}}, ("190", "Invalid token")),
        ({"code": 21211, "message": "Invalid 'To'"}, ("21211", "Invalid 'To'")),
        ({"error": "invalid_grant", "error_description": "expired"}, ("invalid_grant", "expired")),
        ([{"errorCode": "NOT_FOUND", "message": "gone"}], ("NOT_FOUND", "gone")),
        ({"errors": [{"code": "E1", "detail": "bad"}]}, ("E1", "bad")),
        ("  plain\n text ", ("", "plain text")),
        ({"unrelated": True}, ("", "")),
        (None, ("", "")),
        ([], ("", "")),
    ],
)
def test_default_error_parser_shapes(body: Any, expected: tuple[str, str]) -> None:
    assert default_error_parser(400, body) == expected


# --- Retry-After -----------------------------------------------------------------------------


async def test_retry_after_seconds(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.status(429, headers={"Retry-After": "7"}))
    error = await failure(client)
    assert isinstance(error, VendorRateLimited)
    assert error.retry_after_ms == 7000
    assert "asks to wait 7000 ms" in error.message


async def test_retry_after_http_date(vendor: FaultVendor, client: VendorHttpClient) -> None:
    when = email.utils.formatdate(time.time() + 20, usegmt=True)
    vendor.script(fv.status(429, headers={"Retry-After": when}))
    error = await failure(client)
    assert error.retry_after_ms is not None
    # The date has whole seconds and is read a moment after it was written.
    assert 15_000 <= error.retry_after_ms <= 20_000


async def test_retry_after_is_capped(vendor: FaultVendor) -> None:
    http = VendorHttpClient("acme", vendor.url, max_retry_after_s=5)
    later = email.utils.formatdate(time.time() + 3600, usegmt=True)
    vendor.script(
        fv.status(429, headers={"Retry-After": "86400"}),
        fv.status(503, headers={"Retry-After": later}),
    )
    try:
        rate_limited = await failure(http)
        unavailable = await failure(http)
    finally:
        await http.close()
    assert rate_limited.retry_after_ms == 5000
    assert isinstance(unavailable, VendorUnavailable)
    assert unavailable.retry_after_ms == 5000
    assert unavailable.may_have_acted is False


async def test_503_honours_retry_after(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.status(503, headers={"Retry-After": "2"}))
    error = await failure(client)
    assert isinstance(error, VendorUnavailable)
    assert error.retry_after_ms == 2000


@pytest.mark.parametrize(
    ("value", "expected"),
    [
        (None, None),
        ("", None),
        ("soon", None),
        ("0", 0),
        ("1.5", 1500),
        ("-3", 0),
        ("120", 30_000),
        ("Wed, 21 Oct 2015 07:28:10 GMT", 3_000),  # 3 s after the fixed "now"
        ("Wed, 21 Oct 2015 07:27:00 GMT", 0),  # in the past: retry now
        ("nan", None),
    ],
)
def test_retry_after_parsing(value: str | None, expected: int | None) -> None:
    now = email.utils.parsedate_to_datetime("Wed, 21 Oct 2015 07:28:07 GMT").timestamp()
    assert retry_after_ms(value, cap_s=30, now=lambda: now) == expected


# --- transport failures ----------------------------------------------------------------------


async def test_connection_refused_was_never_sent() -> None:
    http = VendorHttpClient(
        "acme", f"http://127.0.0.1:{free_port()}", headers={"Authorization": AUTHORIZATION}
    )
    try:
        error = await failure(http)
    finally:
        await http.close()
    assert isinstance(error, VendorUnavailable)
    assert error.may_have_acted is False
    assert error.retryable
    assert error.retry_after_ms is None
    assert error.metadata == {"phase": "connect"}
    assert error.message.startswith("could not connect to acme for POST /v1/charge")
    assert "the request was not sent" in error.message
    assert_no_secret(error)


async def test_tls_handshake_failure_was_never_sent(vendor: FaultVendor) -> None:
    """https against a plain-HTTP port: the handshake fails before any request exists."""
    http = VendorHttpClient("acme", vendor.url.replace("http://", "https://"))
    try:
        error = await failure(http)
    finally:
        await http.close()
    assert isinstance(error, VendorUnavailable)
    assert error.may_have_acted is False
    assert error.metadata == {"phase": "connect"}
    assert "TLS handshake failed" in error.message
    assert vendor.requests == []


@pytest.fixture
def unanswered_port() -> Iterator[int]:
    """A port whose listen backlog is full: the kernel drops further SYNs, so a connect
    attempt hangs until the client gives up (Linux behaviour, checked here)."""
    listener = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
    listener.bind(("127.0.0.1", 0))
    listener.listen(0)
    address = listener.getsockname()
    fillers = []
    for _ in range(4):
        filler = socket.socket(socket.AF_INET, socket.SOCK_STREAM)
        filler.setblocking(False)
        with contextlib.suppress(BlockingIOError):
            filler.connect(address)
        fillers.append(filler)
    try:
        # Nothing accepts, so the last filler's handshake can only still be in progress.
        assert fillers[-1].connect_ex(address) == errno.EALREADY, (
            "the kernel completed a connect to a full listen backlog"
        )
        yield int(address[1])
    finally:
        for filler in fillers:
            filler.close()
        listener.close()


async def test_timeout_before_the_connection_exists_did_not_act(unanswered_port: int) -> None:
    http = VendorHttpClient("acme", f"http://127.0.0.1:{unanswered_port}")
    started = time.monotonic()
    try:
        error = await failure(http, timeout_s=0.3)
    finally:
        await http.close()
    assert isinstance(error, DeadlineExceeded), error
    assert time.monotonic() - started < 0.3 + SLACK_S  # the call's timeout, not the kernel's
    assert error.may_have_acted is False
    assert error.retryable
    assert error.metadata == {"timed_out": "true", "phase": "connect"}
    assert "the request was not sent" in error.message


async def test_slow_answer_beyond_the_timeout_may_have_acted(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    vendor.script(fv.slow(60.0))
    started = time.monotonic()
    error = await failure(client, timeout_s=0.3)
    assert time.monotonic() - started < 0.3 + SLACK_S
    assert isinstance(error, DeadlineExceeded)
    assert error.reason == "DEADLINE_EXCEEDED"
    assert error.may_have_acted is True
    assert error.metadata == {"timed_out": "true", "phase": "response"}
    assert "may have reached acme" in error.message
    [seen] = await vendor.wait_requests(1, timeout_s=SLACK_S)
    assert seen.json == {"amount": 100}
    assert_no_secret(error)


async def test_slow_answer_within_the_timeout_succeeds(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    vendor.script(fv.slow(0.1))
    response = await charge(client, timeout_s=2.0)
    assert response.body == {"id": "obj_1", "echo": {"amount": 100}}


async def test_reset_before_reading_the_request(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    """The vendor resets the connection before reading the request body.

    The client observes a connection that was established and then reset without a byte of
    answer (ECONNRESET on read), exactly as for ``reset_after``: it cannot know the vendor
    never read the request, so the error says it may have acted. The vendor recorded nothing.
    """
    vendor.script(fv.reset_before())
    error = await failure(client)
    assert isinstance(error, VendorUnavailable)
    assert error.may_have_acted is True
    assert error.retryable
    assert error.metadata.keys() == {"phase", "transport_detail"}
    assert error.metadata["phase"] == "response"
    assert "dropped after the request was sent" in error.message
    assert vendor.requests == []
    assert vendor.connections == 1
    assert_no_secret(error)


async def test_reset_after_reading_the_request(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    """The vendor reads (and could act on) the whole request, then resets the connection.

    The client observes the same as for ``reset_before``: an established connection reset
    without an answer. Only the vendor's record shows it received the request.
    """
    vendor.script(fv.reset_after())
    error = await failure(client)
    assert isinstance(error, VendorUnavailable)
    assert error.may_have_acted is True
    assert error.metadata["phase"] == "response"
    [seen] = vendor.requests
    assert seen.json == {"amount": 100}
    assert seen.headers["idempotency-key"] == "key-1"
    assert_no_secret(error)


@pytest.mark.parametrize("method", ["GET", "PUT", "DELETE", "POST", "PATCH"])
async def test_a_dropped_connection_is_never_sent_again_behind_the_gateways_back(
    vendor: FaultVendor, client: VendorHttpClient, method: str
) -> None:
    """aiohttp repeats a request of an idempotent method (GET, PUT, DELETE) once by itself
    when its connection drops. The gateway must see every attempt: a PUT that voids an
    envelope, sent twice, answers "already voided"; and the retry policy and the attempt
    count are the gateway's, not hidden below it."""
    vendor.script(fv.reset_after(), fv.reset_after())
    with pytest.raises(VendorUnavailable) as caught:
        await client.request(method, "/v1/object", timeout_s=5.0, json={"amount": 100})
    assert caught.value.may_have_acted is True
    assert [r.method for r in vendor.requests] == [method]


async def test_both_resets_look_the_same_to_the_client(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    vendor.script(fv.reset_before(), fv.reset_after())
    before = await failure(client)
    after = await failure(client)
    assert (type(before), before.may_have_acted, before.metadata) == (
        type(after),
        after.may_have_acted,
        after.metadata,
    )
    assert len(vendor.requests) == 1


async def test_malformed_json_may_have_acted(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.malformed_json())
    error = await failure(client)
    assert isinstance(error, VendorBadResponse)
    assert error.reason == "VENDOR_BAD_RESPONSE"
    assert error.may_have_acted is True
    assert error.retryable is False
    assert error.metadata == {"vendor_status": "200", "phase": "response"}
    assert len(vendor.requests) == 1


async def test_redirect_is_not_followed(vendor: FaultVendor, client: VendorHttpClient) -> None:
    vendor.script(fv.status(302, headers={"Location": "/v1/elsewhere"}))
    error = await failure(client)
    assert isinstance(error, VendorBadResponse)
    assert error.metadata == {"vendor_status": "302"}
    assert [r.path for r in vendor.requests] == ["/v1/charge"]


# --- secrets ---------------------------------------------------------------------------------


@pytest.mark.parametrize(
    "fault",
    [
        fv.status(401, {"error": {"code": "bad_key", "message": f"Invalid key {AUTHORIZATION}"}}),
        fv.status(400, {"message": f"header was {SECRET}"}),
        fv.status(500, f"echo: Authorization: {AUTHORIZATION}"),
        fv.reset_after(),
        fv.malformed_json(),
    ],
)
async def test_authorization_never_appears_in_errors(
    vendor: FaultVendor, client: VendorHttpClient, fault: fv.Fault
) -> None:
    vendor.script(fault)
    error = await failure(client)
    assert_no_secret(error)


async def test_basic_credentials_echoed_by_the_vendor_are_scrubbed(vendor: FaultVendor) -> None:
    http = VendorHttpClient(
        "twilio",
        vendor.url,
        headers={
            "Authorization": "Basic QUMxMjM0NTY3ODpzM2NyM3RUMGtlbg=="
        },  # AC12345678:s3cr3tT0ken
    )
    vendor.script(fv.status(401, {"code": 20003, "message": "bad token s3cr3tT0ken"}))
    try:
        error = await failure(http)
    finally:
        await http.close()
    assert "s3cr3tT0ken" not in str(error)
    assert error.metadata["vendor_message"] == "bad token ***"
    assert "s3cr3tT0ken" not in repr(http)


# --- lifecycle -------------------------------------------------------------------------------


async def test_no_time_left_sends_nothing(vendor: FaultVendor, client: VendorHttpClient) -> None:
    error = await failure(client, timeout_s=0)
    assert isinstance(error, DeadlineExceeded)
    assert error.may_have_acted is False
    assert vendor.requests == []
    assert vendor.connections == 0


async def test_closed_client_refuses_and_close_never_raises(vendor: FaultVendor) -> None:
    http = VendorHttpClient("acme", vendor.url)
    await http.close()  # before start
    await http.start()
    await charge(http)
    await http.close()
    await http.close()
    error = await failure(http)
    assert isinstance(error, ShuttingDown)
    assert len(vendor.requests) == 1
    await http.start()  # reopens
    await charge(http)
    await http.close()
    assert len(vendor.requests) == 2


async def test_request_without_start_opens_the_session(vendor: FaultVendor) -> None:
    http = VendorHttpClient("acme", vendor.url)
    try:
        response = await charge(http)
    finally:
        await http.close()
    assert response.status == 200


async def test_concurrent_requests_share_the_session(
    vendor: FaultVendor, client: VendorHttpClient
) -> None:
    results = await asyncio.gather(*(charge(client) for _ in range(5)))
    assert {r.status for r in results} == {200}
    await vendor.wait_requests(5, timeout_s=1)


# --- the faulty connector over the client ----------------------------------------------------


def attempt(timeout_s: float = TIMEOUT_S) -> AttemptContext:
    return AttemptContext(
        tenant="acme",
        execution_id="exec-1",
        idempotency_key="key-9",
        attempt=1,
        timeout_s=timeout_s,
    )


@pytest.fixture
async def faulty(vendor: FaultVendor) -> AsyncIterator[HttpFakeAdapter]:
    async with initialized(HttpFakeAdapter(vendor.url, api_key=SECRET)) as adapter:
        yield adapter


async def test_faulty_adapter_operations(vendor: FaultVendor, faulty: HttpFakeAdapter) -> None:
    assert isinstance(faulty, Adapter)
    faulty.metadata.validate()
    assert (await faulty.health_check()).ok
    charged = await faulty.execute("charge", AmountPayload(amount=5), attempt())
    created = await faulty.execute("create", AmountPayload(amount=6, note="n"), attempt())
    read = await faulty.execute("get", GetPayload(id="obj_1"), attempt())
    refunded = await faulty.compensate("refund", charged, attempt())
    assert charged == {"id": "obj_1", "echo": {"amount": 5, "note": ""}}
    assert created["echo"] == {"amount": 6, "note": "n"}
    assert read == {"id": "obj_3", "echo": {"id": "obj_1"}}
    assert refunded["echo"] == {"charge": "obj_1"}
    charge_req, create_req, get_req, refund_req = vendor.requests
    assert charge_req.headers["idempotency-key"] == "key-9"
    assert "idempotency-key" not in create_req.headers
    assert (get_req.method, get_req.path, get_req.body) == ("GET", "/v1/get", b"")
    assert (refund_req.path, refund_req.headers["idempotency-key"]) == ("/v1/refund", "key-9")
    assert charge_req.headers["authorization"] == AUTHORIZATION


async def test_faulty_adapter_passes_the_attempt_timeout(
    vendor: FaultVendor, faulty: HttpFakeAdapter
) -> None:
    vendor.script(fv.slow(2.0))
    with pytest.raises(DeadlineExceeded) as caught:
        await faulty.execute("charge", AmountPayload(amount=5), attempt(timeout_s=0.2))
    assert caught.value.may_have_acted
    with pytest.raises(NotCompensable):
        await faulty.compensate("refund", {}, attempt())
    await faulty.shutdown()
    assert not (await faulty.health_check()).ok
    with pytest.raises(ShuttingDown):
        await faulty.execute("create", AmountPayload(amount=1), attempt())
