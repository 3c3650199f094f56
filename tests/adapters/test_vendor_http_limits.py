"""VendorHttpClient reads no more of an answer than its limit, and no query string (which can
hold tokens and personal data) reaches an error's message or metadata. Against real peers on
127.0.0.1: the fault-injecting vendor, and a raw TCP server that speaks broken HTTP."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator
from contextlib import asynccontextmanager

import pytest

from adapters.http import VendorHttpClient
from gateway.errors import (
    DeadlineExceeded,
    GatewayError,
    VendorBadResponse,
    VendorRejected,
    VendorUnavailable,
)
from tests.support import fault_vendor as fv
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.smtp_peers import free_port

pytestmark = pytest.mark.timeout(20)

LIMIT = 64 * 1024
DEFAULT_LIMIT = 4 * 1024 * 1024  # documented in docs/architecture.md
ENDLESS = 1024**3  # far more than any client could buffer in the test's time
QUERY_SECRET = "qs-tok-6f2d91"
TIMEOUT_S = 5.0


@pytest.fixture
async def vendor() -> AsyncIterator[FaultVendor]:
    async with fault_vendor() as running:
        yield running


@asynccontextmanager
async def client_for(url: str, **options: int) -> AsyncIterator[VendorHttpClient]:
    http = VendorHttpClient("acme", url, **options)  # type: ignore[arg-type]
    await http.start()
    try:
        yield http
    finally:
        await http.close()


async def failure(http: VendorHttpClient, method: str = "POST", **kw: object) -> GatewayError:
    with pytest.raises(GatewayError) as caught:
        await http.request(method, "/v1/charge", timeout_s=TIMEOUT_S, **kw)  # type: ignore[arg-type]
    return caught.value


# --- response size ---------------------------------------------------------------------------


async def test_a_body_within_the_limit_is_read(vendor: FaultVendor) -> None:
    vendor.script(fv.large(LIMIT), fv.large(LIMIT, declare_length=False))
    async with client_for(vendor.url, max_response_bytes=LIMIT) as http:
        for _ in range(2):
            response = await http.request("POST", "/v1/charge", json={}, timeout_s=TIMEOUT_S)
            assert len(response.body["pad"]) == LIMIT - len('{"pad": ""}')


@pytest.mark.parametrize("declare_length", [True, False], ids=["content-length", "chunked"])
async def test_a_larger_body_is_a_bad_response_read_no_further(
    vendor: FaultVendor, declare_length: bool
) -> None:
    vendor.script(fv.large(ENDLESS, declare_length=declare_length))
    async with client_for(vendor.url, max_response_bytes=LIMIT) as http:
        error = await failure(http, json={"amount": 1})
    assert isinstance(error, VendorBadResponse)
    assert error.may_have_acted is True  # a write whose answer was not read: maybe acted
    assert error.metadata == {
        "vendor_status": "200",
        "phase": "response",
        "limit_bytes": str(LIMIT),
    }
    assert f"larger than {LIMIT} bytes" in error.message
    assert len(vendor.requests) == 1
    # The client stopped reading and closed: the vendor could not push the rest.
    async with asyncio.timeout(10):
        await vendor.large_done.wait()
    assert vendor.body_bytes_sent < 64 * 1024**2


async def test_an_error_answer_past_the_limit_keeps_its_status(vendor: FaultVendor) -> None:
    vendor.script(fv.large(ENDLESS, code=400), fv.large(ENDLESS, code=503, declare_length=False))
    async with client_for(vendor.url, max_response_bytes=LIMIT) as http:
        rejected = await failure(http, json={})
        unavailable = await failure(http, json={})
    assert isinstance(rejected, VendorRejected)
    assert rejected.metadata == {"vendor_status": "400"}
    assert isinstance(unavailable, VendorUnavailable)
    assert unavailable.may_have_acted is False
    assert unavailable.metadata == {"vendor_status": "503"}


async def test_the_default_limit_is_4_mib(vendor: FaultVendor) -> None:
    vendor.script(fv.large(DEFAULT_LIMIT), fv.large(DEFAULT_LIMIT + 1))
    async with client_for(vendor.url) as http:
        response = await http.request("GET", "/v1/get", timeout_s=TIMEOUT_S)
        assert response.status == 200
        error = await failure(http, "GET")
    assert isinstance(error, VendorBadResponse)
    assert error.metadata["limit_bytes"] == str(DEFAULT_LIMIT)


# --- query strings ---------------------------------------------------------------------------


@asynccontextmanager
async def broken_http_server(answer: bytes) -> AsyncIterator[str]:
    """Reads a request's head and answers ``answer`` verbatim: HTTP no client can parse."""

    async def handle(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        try:
            await reader.readuntil(b"\r\n\r\n")
            writer.write(answer)
            await writer.drain()
        finally:
            writer.close()

    server = await asyncio.start_server(handle, "127.0.0.1", 0)
    try:
        yield f"http://127.0.0.1:{server.sockets[0].getsockname()[1]}"
    finally:
        server.close()
        await server.wait_closed()


def texts(error: GatewayError) -> Iterator[str]:
    yield str(error)
    yield error.message
    yield from error.metadata.values()


def assert_no_query(error: GatewayError) -> None:
    for text in texts(error):
        assert QUERY_SECRET not in text
        assert "?" not in text, text


async def test_an_unreadable_answer_quotes_no_query_and_no_vendor_bytes_in_the_message() -> None:
    answer = b"HTTP/1.1 200 OK\r\nContent-Length: twelve\r\n\r\n{}"
    async with broken_http_server(answer) as url, client_for(url) as http:
        error = await failure(http, "GET", params={"token": QUERY_SECRET})
    assert isinstance(error, VendorBadResponse)
    assert error.message == (
        "acme answered GET /v1/charge with a response that could not be read "
        "(ClientResponseError); it may have acted: check with the vendor before repeating it"
    )
    assert error.metadata["phase"] == "response"
    # The parser's own words, quoting the vendor's bytes, stay in the metadata.
    assert "twelve" in error.metadata["transport_detail"]
    assert "twelve" not in error.message
    assert_no_query(error)


@pytest.mark.parametrize(
    "fault",
    [fv.reset_after(), fv.reset_before(), fv.slow(2), fv.status(400, {"message": QUERY_SECRET})],
    ids=["reset after", "reset before", "timeout", "vendor echoes it"],
)
async def test_no_fault_quotes_the_query(vendor: FaultVendor, fault: fv.Fault) -> None:
    vendor.script(fault)
    async with client_for(vendor.url) as http:
        with pytest.raises(GatewayError) as caught:
            await http.request(
                "POST", f"/v1/get?token={QUERY_SECRET}", params={"id": QUERY_SECRET}, timeout_s=1
            )
    error = caught.value
    if isinstance(error, VendorRejected):  # the vendor's own words stay in vendor_message
        assert error.metadata["vendor_message"] == QUERY_SECRET
        error.metadata.pop("vendor_message")
    assert_no_query(error)


async def test_connection_refused_quotes_no_query() -> None:
    async with client_for(f"http://127.0.0.1:{free_port()}") as http:
        error = await failure(http, "GET", params={"token": QUERY_SECRET})
    assert isinstance(error, VendorUnavailable)
    assert_no_query(error)


async def test_a_deadline_error_quotes_no_query(vendor: FaultVendor) -> None:
    async with client_for(vendor.url) as http:
        with pytest.raises(DeadlineExceeded) as caught:
            await http.request("GET", f"/v1/get?token={QUERY_SECRET}", timeout_s=0)
    assert_no_query(caught.value)


# --- the vendor's code -----------------------------------------------------------------------


async def test_a_code_that_is_text_is_kept_as_the_vendors_message(vendor: FaultVendor) -> None:
    vendor.script(fv.status(422, {"code": "no such user jane@example.org", "message": "denied"}))
    async with client_for(vendor.url) as http:
        error = await failure(http, json={})
    assert "vendor_code" not in error.metadata
    assert error.metadata["vendor_message"] == "no such user jane@example.org: denied"
    assert "jane" not in error.message
