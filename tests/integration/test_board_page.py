"""The board's web page in headless Chromium (Debian's ``chromium``, driven by Playwright):
statuses in colour and words, English and Arabic (right to left), charts and the pending
approvals, refreshing by itself, and an operator's switches after the development sign-in.
Screenshots are kept in the test's directory."""

from __future__ import annotations

import json
import os
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest
from playwright.async_api import Browser, Page, async_playwright, expect

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.fault_vendor import FaultVendor, fault_vendor, status
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import base_url, login_file_url
from tests.support.http_fake_adapter import HttpFakeAdapter
from tests.support.rpc import refusal

CHROMIUM = Path("/usr/bin/chromium")
TIMEOUT_MS = 10_000
ERROR_RED = "rgb(179, 38, 30)"  # --error in board.css


@pytest.fixture
async def browser() -> AsyncIterator[Browser]:
    if not CHROMIUM.exists():
        pytest.fail(
            f"this test needs Chromium at {CHROMIUM} (Debian package chromium); "
            "`make test` installs it when run as root"
        )
    async with async_playwright() as playwright:
        launched = await playwright.chromium.launch(
            executable_path=str(CHROMIUM),
            # Chromium's sandbox refuses to run as root.
            args=["--no-sandbox"] if os.getuid() == 0 else [],
        )
        try:
            yield launched
        finally:
            await launched.close()


async def call_faulty(gw: RunningGateway, vendor: FaultVendor, *, fail: bool) -> None:
    request = pb.ExecuteRequest(connector_key="faulty", operation="get")
    request.payload.update({"id": "obj_1"})
    if not fail:
        await gw.stub.Execute(request, timeout=10)
        return
    vendor.script(status(500, {"error": {"code": "boom", "message": "down"}}))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=10)
    assert refusal(caught.value).reason == "VENDOR_ERROR"


async def ask_for_approval(gw: RunningGateway) -> None:
    request = pb.ExecuteRequest(connector_key="fake", operation="guarded", idempotency_key="g1")
    request.payload.update({"text": "pay the invoice"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=10)
    assert refusal(caught.value).reason == "APPROVAL_REQUIRED"


def card(key: str, status: str = "") -> str:
    return f'[data-key="{key}"]' + (f'[data-status="{status}"]' if status else "")


async def text(page: Page, selector: str) -> str:
    return (await page.locator(selector).text_content(timeout=TIMEOUT_MS)) or ""


async def test_the_board_page_in_chromium(tmp_path: Path, browser: Browser) -> None:
    settings = gateway_settings(
        tmp_path / "var",
        health={"window_calls": 4, "degraded_failure_ratio": 0.5},
        reliability={
            "backoff_scale": 0.001,
            "breaker_failure_threshold": 2,
            "rate_limits": {"faulty": {"per_second": 1000, "burst": 1000}},
        },
    )
    fake = FakeAdapter()
    async with fault_vendor() as vendor:
        connectors = [
            Connector(fake, registered=True),
            Connector(HttpFakeAdapter(vendor.url), registered=True),
        ]
        async with running_gateway(settings, connectors=connectors) as gw:
            await call_faulty(gw, vendor, fail=False)
            await call_faulty(gw, vendor, fail=True)
            await ask_for_approval(gw)
            page = await browser.new_page()
            page.set_default_timeout(TIMEOUT_MS)
            board = f"{base_url(gw)}/board?refresh_ms=500&lang=en"

            # Not signed in: the board, read only, without error texts.
            await page.goto(board)
            await page.wait_for_selector(card("faulty", "degraded"))
            assert await text(page, f"{card('faulty')} .status") == "Degraded"
            assert await text(page, f"{card('faulty')} .last-error") == "—"
            assert await page.locator("#signin").is_visible()
            assert not await page.locator(f"{card('fake')} .actions").is_visible()
            assert await text(page, "#pending") == "—"
            await page.screenshot(path=tmp_path / "board-read-only.png", full_page=True)

            # Signed in with the development login link: lands on the board, an operator.
            await page.goto(login_file_url(gw.gateway.settings.data_dir))
            assert page.url.startswith(f"{base_url(gw)}/board")
            await page.goto(board)
            await expect(page.locator("#pending")).to_have_text("1", timeout=TIMEOUT_MS)
            assert (
                await text(page, f"{card('faulty')} .last-error")
                == "VENDOR_ERROR (vendor status 500, vendor code boom)"
            )
            assert await text(page, f"{card('faulty')} .error-rate") == "50% · 2 calls"
            # The dictionary's connector_health: the fake is ok (its probe), faulty is not.
            assert await text(page, "#health") == "50% (1 of 2 ok)"

            # The vendor keeps failing: the page follows by itself, in red.
            await call_faulty(gw, vendor, fail=True)
            await page.wait_for_selector(card("faulty", "error"))
            assert await text(page, f"{card('faulty')} .status") == "Error"
            colour = await page.locator(f"{card('faulty')} .status").evaluate(
                "node => getComputedStyle(node).backgroundColor"
            )
            assert colour == ERROR_RED
            samples = await page.locator(f"{card('faulty')} .chart.errors").get_attribute(
                "data-samples"
            )
            assert int(samples or 0) >= 2  # drawn from successive reads of the JSON

            # The operator disables the fake connector, saying why.
            await page.click(f"{card('fake')} .disable")
            await page.fill("#disable-reason", "vendor incident 7")
            await page.click("#disable-confirm")
            await page.wait_for_selector(card("fake", "disabled"))
            assert "vendor incident 7" in await text(page, f"{card('fake')} .disabled-reason")
            [row] = [r for r in gw.audit_rows() if r["event_type"] == "connector_disabled"]
            assert (row["caller"], row["rpc_method"]) == (
                "local-operator",
                "HTTP POST /api/v1/connectors/fake/disable",
            )
            assert json.loads(row["detail"])["note"] == "vendor incident 7"
            request = pb.ExecuteRequest(connector_key="fake", operation="echo")
            request.idempotency_key = "e1"
            request.payload.update({"text": "hi"})
            with pytest.raises(grpc.aio.AioRpcError) as caught:
                await gw.stub.Execute(request, timeout=10)
            assert refusal(caught.value).reason == "CONNECTOR_DISABLED"
            await page.screenshot(path=tmp_path / "board-en.png", full_page=True)

            # In Arabic, right to left.
            await page.click("#language")
            await page.wait_for_selector("html[dir=rtl][lang=ar]")
            assert await text(page, f"{card('fake')} .status") == "معطّل"
            assert await text(page, f"{card('fake')} .name") == "مورد تجريبي"
            assert await text(page, "h1") == "لوحة صحة الموصلات"
            await page.screenshot(path=tmp_path / "board-ar.png", full_page=True)

            # Enabled again from the page.
            await page.click(f"{card('fake')} .enable")
            await page.wait_for_selector(card("fake", "ok"))  # its probe at start passed
            assert [
                r["caller"] for r in gw.audit_rows() if r["event_type"] == "connector_enabled"
            ] == ["local-operator"]
            await page.close()
    for name in ("board-read-only.png", "board-en.png", "board-ar.png"):
        assert (tmp_path / name).stat().st_size > 10_000, name
