"""Unauthenticated refusals cost audit rows only within a per-peer budget.

Beyond the budget a refusal is answered exactly as before, but counted instead of written;
the counts become one ``refusals_summarized`` row per peer and interval, and on shutdown.
"""

from __future__ import annotations

import json
import sqlite3
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager, closing
from pathlib import Path
from typing import Any

import aiohttp
import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from gateway.registry import Connector
from gateway.settings import Settings
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.support.tokens import TokenKit, caller, forged_token, token_kit
from tests.support.waiting import wait_until

BURST = 3
NO_REFILL = 1e-6  # refusals per second: no token comes back during a test


def limited_settings(tmp_path: Path, kit: TokenKit, **audit: Any) -> Settings:
    return gateway_settings(
        tmp_path / "var",
        auth=kit.auth_settings(),
        audit={
            "unauthenticated_refusals_per_s": NO_REFILL,
            "unauthenticated_refusals_burst": BURST,
            "refusal_summary_every_s": 3600,
            **audit,
        },
    )


@asynccontextmanager
async def limited_gateway(settings: Settings, fake: FakeAdapter) -> AsyncIterator[RunningGateway]:
    async with running_gateway(settings, connectors=[Connector(fake, registered=True)]) as gw:
        yield gw


def rows(settings: Settings) -> list[dict[str, Any]]:
    with closing(sqlite3.connect(settings.database_path)) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit_events ORDER BY seq")]


def echo(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key=key)
    request.payload.update({"text": "hi"})
    return request


async def refused(call: Any) -> tuple[grpc.StatusCode, str]:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await call
    seen = refusal(caught.value)
    return seen.code, seen.reason


def summary_rows(settings: Settings) -> list[dict[str, Any]]:
    return [r for r in rows(settings) if r["event_type"] == "refusals_summarized"]


def summarized(found: list[dict[str, Any]]) -> int:
    """How many refusals the summary rows account for."""
    return sum(int(detail_of(r)["count"]) for r in found)


async def summaries_of(settings: Settings, refusals: int) -> list[dict[str, Any]]:
    """The summary rows, once they account for ``refusals`` refusals. The summaries are
    written by a timer, announced by no event: the rows are polled."""

    def written() -> list[dict[str, Any]] | None:
        found = summary_rows(settings)
        return found if summarized(found) >= refusals else None

    return await wait_until(written, what=f"summary rows for {refusals} refusals")


def unauthenticated_rows(found: list[dict[str, Any]]) -> list[dict[str, Any]]:
    return [r for r in found if r["status_code"] == "UNAUTHENTICATED"]


async def test_a_burst_costs_burst_rows_and_one_summary(tmp_path: Path) -> None:
    kit, fake = token_kit(tmp_path), FakeAdapter()
    settings = limited_settings(tmp_path, kit)
    bad = [(), (("authorization", f"Bearer {forged_token('agent-acme')}"),)]
    calls = 10
    async with limited_gateway(settings, fake) as gw:
        # Several connections from one address: the port changes, the peer does not.
        channels = [grpc.aio.insecure_channel(gw.address) for _ in range(3)]
        try:
            for i in range(calls):
                stub = pb_grpc.ConnectorServiceStub(channels[i % 3])
                code, reason = await refused(
                    stub.Execute(echo(f"k{i}"), metadata=bad[i % 2], timeout=5)
                )
                assert code == grpc.StatusCode.UNAUTHENTICATED
                assert reason == ("CREDENTIALS_MISSING", "TOKEN_INVALID")[i % 2]
        finally:
            for channel in channels:
                await channel.close()
        # An authenticated caller from the same address is not held back in any way...
        await gw.stub.Execute(echo("ok"), metadata=kit.metadata("agent-acme"), timeout=5)
        # ...nor is the refusal of an authenticated caller that the policy does not name.
        code, reason = await refused(
            gw.stub.Execute(echo("who"), metadata=kit.metadata("stranger"), timeout=5)
        )
        assert (code, reason) == (grpc.StatusCode.PERMISSION_DENIED, "CALLER_NOT_ALLOWED")
        assert len(unauthenticated_rows(gw.audit_rows())) == BURST
        assert not [r for r in gw.audit_rows() if r["event_type"] == "refusals_summarized"]

    found = rows(settings)
    unauthenticated = unauthenticated_rows(found)
    assert [r["event_type"] for r in unauthenticated] == ["request_rejected"] * BURST + [
        "refusals_summarized"
    ]
    assert [r["reason"] for r in unauthenticated[:BURST]] == [
        "CREDENTIALS_MISSING",
        "TOKEN_INVALID",
        "CREDENTIALS_MISSING",
    ]
    summary = unauthenticated[-1]
    detail = detail_of(summary)
    assert detail["count"] == str(calls - BURST)
    assert detail["peer"] == "127.0.0.1"
    assert detail["reasons"] == "CREDENTIALS_MISSING=3,TOKEN_INVALID=4"
    assert detail["first_at"] <= detail["last_at"]
    assert summary["outcome"] == "refused"
    assert [r["caller"] for r in found if r["event_type"] == "echoed"] == [caller("agent-acme")]
    assert [r["reason"] for r in found if r["status_code"] == "PERMISSION_DENIED"] == [
        "CALLER_NOT_ALLOWED"
    ]
    assert len(fake.calls) == 1


async def test_summaries_are_written_every_interval_while_serving(tmp_path: Path) -> None:
    kit, fake = token_kit(tmp_path), FakeAdapter()
    settings = limited_settings(tmp_path, kit, refusal_summary_every_s=0.2)

    async with limited_gateway(settings, fake) as gw:
        # Each burst is summarized while the gateway serves, in one row or more (a burst may
        # straddle an interval); the second burst only after the first was written.
        for burst, counted in ((BURST + 2, 2), (4, 2 + 4)):
            for i in range(burst):
                assert (await refused(gw.stub.Execute(echo(f"k{i}"), timeout=5)))[1] == (
                    "CREDENTIALS_MISSING"
                )
            written = await summaries_of(settings, counted)
            assert summarized(written) == counted
    # Nothing was left to summarize on shutdown.
    assert summary_rows(settings) == written
    assert len(unauthenticated_rows(rows(settings))) == BURST + len(written)


async def test_http_refusals_share_the_peer_s_budget(tmp_path: Path) -> None:
    kit, fake = token_kit(tmp_path), FakeAdapter()
    settings = limited_settings(tmp_path, kit)
    async with limited_gateway(settings, fake) as gw:
        for i in range(2):
            await refused(gw.stub.Execute(echo(f"k{i}"), timeout=5))
        base = f"http://127.0.0.1:{gw.gateway.http_port}"
        async with aiohttp.ClientSession() as http:
            for _ in range(4):
                async with http.get(f"{base}/v1/approvals") as reply:
                    assert reply.status == 401
                    body = await reply.json()
                    assert body["error"]["reason"] == "CREDENTIALS_MISSING"
            # An authenticated HTTP caller is unaffected.
            headers = {"authorization": f"Bearer {kit.token('ops-acme')}"}
            async with http.get(f"{base}/v1/approvals", headers=headers) as reply:
                assert reply.status == 200
    found = unauthenticated_rows(rows(settings))
    assert [r["rpc_method"].startswith("HTTP") for r in found[:BURST]] == [False, False, True]
    assert detail_of(found[-1])["count"] == "3"
    assert len(found) == BURST + 1


def detail_of(row: dict[str, Any]) -> dict[str, str]:
    detail: dict[str, str] = json.loads(row["detail"])
    return detail
