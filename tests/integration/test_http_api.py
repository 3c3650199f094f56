"""The HTTP side answers only for its own host names and pages, lets a browser in only through
the one-time login link, and answers every caller mistake with a reason and an audit row."""

from __future__ import annotations

import logging
import stat
from pathlib import Path

import aiohttp
import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.registry import Connector
from tests.support.cli import run_cli
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.http import (
    BROWSER,
    OPERATOR,
    audit_count,
    base_url,
    call,
    csrf_token,
    login_file_url,
    raw_exchange,
    raw_request,
    status_and_body,
)
from tests.support.rpc import refusal


async def ask(gw: RunningGateway, key: str = "k1", caller: str = "local-agent") -> str:
    """A class B call without approval; returns the id of the approval request it opened."""
    request = pb.ExecuteRequest(connector_key="fake", operation="guarded", idempotency_key=key)
    request.payload.update({"text": "pay the invoice"})
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, metadata=((DEV_CALLER_HEADER, caller),), timeout=5)
    seen = refusal(caught.value)
    assert seen.reason == "APPROVAL_REQUIRED"
    return seen.metadata["approval_id"]


def last_row(gw: RunningGateway) -> dict[str, object]:
    return gw.audit_rows()[-1]


# --- host names and origins ------------------------------------------------------------------


async def test_a_request_for_another_host_is_refused_and_audited(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    port = gw.gateway.http_port
    for host in ("evil.example", f"evil.example:{port}", f"localhost.evil.example:{port}"):
        before = audit_count(gw)
        got = await call(gw, "GET", "/v1/approvals", headers={**OPERATOR, "Host": host})
        assert (got.status, got.reason) == (403, "HOST_NOT_ALLOWED"), got
        assert audit_count(gw) == before + 1
        row = last_row(gw)
        assert (row["event_type"], row["reason"]) == ("request_rejected", "HOST_NOT_ALLOWED")
        assert row["rpc_method"] == "HTTP GET /v1/approvals"
        assert host in str(row["detail"])

    for host in ("localhost", "127.0.0.1", "[::1]", "LOCALHOST."):
        got = await call(gw, "GET", "/v1/approvals", headers={**OPERATOR, "Host": f"{host}:{port}"})
        assert got.status == 200, (host, got)
    # Liveness reveals nothing and is probed by address: it answers whatever the host.
    got = await call(gw, "GET", "/healthz", headers={"Host": "evil.example"})
    assert got.status == 200


async def test_a_change_from_a_foreign_origin_is_refused_even_with_a_valid_csrf_token(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw)
    token = await csrf_token(gw, headers=OPERATOR)
    approve = f"/v1/approvals/{approval_id}/approve"
    port = gw.gateway.http_port
    for origin in ("http://evil.example", f"http://evil.example:{port}", "null", "file://"):
        before = audit_count(gw)
        got = await call(
            gw, "POST", approve, headers={**OPERATOR, "X-CSRF-Token": token, "Origin": origin}
        )
        assert (got.status, got.reason) == (403, "ORIGIN_NOT_ALLOWED"), (origin, got)
        assert audit_count(gw) == before + 1
        assert last_row(gw)["reason"] == "ORIGIN_NOT_ALLOWED"
    pending = await call(gw, "GET", f"/v1/approvals/{approval_id}", headers=OPERATOR)
    assert pending.body["status"] == "APPROVAL_STATUS_PENDING"
    # The gateway's own origin passes the origin check, but a page must still sign in.
    own = await call(
        gw, "POST", approve, headers={**OPERATOR, "X-CSRF-Token": token, "Origin": base_url(gw)}
    )
    assert (own.status, own.reason) == (401, "CREDENTIALS_MISSING")


@pytest.mark.parametrize("context", ["origin", "sec-fetch", "cookie"])
async def test_a_browser_never_acts_as_the_development_caller(
    fake_gateway: RunningGateway, context: str
) -> None:
    gw = fake_gateway
    browser = {
        "origin": {"Origin": base_url(gw)},
        "sec-fetch": {"Sec-Fetch-Site": "same-origin"},
        "cookie": {"Cookie": "theme=dark"},
    }[context]
    for path, headers in (
        ("/v1/approvals", {**OPERATOR, **browser}),  # the named development caller
        ("/v1/csrf-token", browser),  # the implicit one
    ):
        before = audit_count(gw)
        got = await call(gw, "GET", path, headers=headers)
        assert (got.status, got.reason) == (401, "CREDENTIALS_MISSING"), got
        assert "login-url" in got.body["error"]["message"]
        assert audit_count(gw) == before + 1
    # Scripts (no browser headers) keep the development mode's way in.
    assert (await call(gw, "GET", "/v1/approvals", headers=OPERATOR)).status == 200


async def test_the_login_link_signs_a_browser_in_as_the_operator_once(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    data_dir = gw.gateway.settings.data_dir
    approval_id = await ask(gw)
    login_file = data_dir / "http-login.json"
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    printed = await run_cli("login-url", data_dir=data_dir)
    assert printed.returncode == 0, printed.stderr
    url = printed.stdout.strip()
    assert url == login_file_url(data_dir)
    assert url.startswith(f"{base_url(gw)}/login?token=")

    navigate = {"Sec-Fetch-Site": "none", "Sec-Fetch-Mode": "navigate"}
    jar = aiohttp.CookieJar(unsafe=True)  # keeps cookies of an IP address host, as browsers do
    async with aiohttp.ClientSession(cookie_jar=jar) as browser:
        async with browser.get(url, headers=navigate, allow_redirects=False) as response:
            assert response.status == 303
            assert response.headers["Location"] == "/board"
            cookie = response.headers["Set-Cookie"]
        for attribute in ("connector_gateway_session=", "HttpOnly", "SameSite=Strict", "Path=/"):
            assert attribute in cookie
        assert "Max-Age=43200" in cookie

        listed = await call(gw, "GET", "/v1/approvals", session=browser, headers=BROWSER)
        assert listed.status == 200, listed
        assert [a["approval_id"] for a in listed.body["approvals"]] == [approval_id]
        token = await csrf_token(gw, session=browser, headers=BROWSER)
        granted = await call(
            gw,
            "POST",
            f"/v1/approvals/{approval_id}/approve",
            session=browser,
            headers={**BROWSER, "Origin": base_url(gw), "X-CSRF-Token": token},
            json={"note": "seen in the browser"},
        )
        assert granted.status == 200, granted
        assert granted.body["status"] == "APPROVAL_STATUS_GRANTED"
        assert granted.body["resolved_by"] == "local-operator"
    rows = gw.audit_rows()
    opened = [r for r in rows if r["event_type"] == "session_opened"]
    assert [(r["caller"], r["outcome"]) for r in opened] == [("local-operator", "succeeded")]
    assert url.split("token=")[1] not in str(rows)  # the token is no audit material
    assert (rows[-1]["event_type"], rows[-1]["caller"]) == ("approval_granted", "local-operator")

    # The token worked once; the file now holds a new one, which works (once) too.
    again = await call(gw, "GET", url.removeprefix(base_url(gw)), allow_redirects=False)
    assert (again.status, again.reason) == (401, "LOGIN_TOKEN_INVALID")
    assert last_row(gw)["reason"] == "LOGIN_TOKEN_INVALID"
    fresh = login_file_url(data_dir)
    assert fresh != url
    assert stat.S_IMODE(login_file.stat().st_mode) == 0o600
    renewed = await call(gw, "GET", fresh.removeprefix(base_url(gw)), allow_redirects=False)
    assert renewed.status == 303


async def test_a_forged_session_cookie_is_refused(fake_gateway: RunningGateway) -> None:
    gw = fake_gateway
    forged = f"connector_gateway_session=9999999999.{'ab' * 32}"
    got = await call(gw, "GET", "/v1/approvals", headers={**OPERATOR, "Cookie": forged})
    assert (got.status, got.reason) == (401, "SESSION_INVALID")
    assert last_row(gw)["reason"] == "SESSION_INVALID"


async def test_the_login_file_is_gone_once_the_gateway_stops(tmp_path: Path) -> None:
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)]):
        assert (tmp_path / "http-login.json").exists()
    assert not (tmp_path / "http-login.json").exists()
    printed = await run_cli("login-url", data_dir=tmp_path)
    assert printed.returncode == 1
    assert "no login link" in printed.stderr


# --- caller mistakes -------------------------------------------------------------------------


async def test_caller_mistakes_are_refused_with_a_reason_and_audited(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    approval_id = await ask(gw)
    approve = f"/v1/approvals/{approval_id}/approve"
    token = await csrf_token(gw, headers=OPERATOR)
    with_csrf = {**OPERATOR, "X-CSRF-Token": token}
    port = gw.gateway.http_port
    cases: list[tuple[str, int, str, bytes]] = [
        ("status", 400, "INVALID_FIELD", b""),
        ("csrf-non-ascii", 403, "CSRF_TOKEN_INVALID", b""),
        ("csrf-4300-digits", 403, "CSRF_TOKEN_INVALID", b""),
        ("not-json", 400, "MALFORMED_REQUEST", b"note=fine"),
        ("not-utf8", 400, "MALFORMED_REQUEST", b'{"note": "\xff"}'),
        ("array", 400, "MALFORMED_REQUEST", b"[1, 2]"),
        ("note-not-text", 400, "INVALID_FIELD", b'{"note": 5}'),
        ("note-lone-surrogate", 400, "INVALID_FIELD", b'{"note": "\\ud800"}'),
        ("too-large", 413, "PAYLOAD_TOO_LARGE", b'{"note": "' + b"x" * 70_000 + b'"}'),
    ]
    for case, status, reason, body in cases:
        headers = dict(with_csrf)
        method, path = "POST", approve
        if case == "status":
            method, path = "GET", "/v1/approvals?status=bogus"
        elif case == "csrf-non-ascii":
            headers["X-CSRF-Token"] = "\u00e9t\u00e9.\udcff"  # UTF-8 and an undecodable byte
        elif case == "csrf-4300-digits":
            headers["X-CSRF-Token"] = "9" * 4300 + "." + "0" * 64
        before = audit_count(gw)
        answered = await raw_exchange(port, raw_request(method, path, port, headers, body))
        got_status, got = status_and_body(answered)
        assert (got_status, got["error"]["reason"]) == (status, reason), (case, got)
        assert audit_count(gw) == before + 1, case
        row = last_row(gw)
        assert (row["reason"], row["outcome"]) == (reason, "refused"), case
        assert str(row["rpc_method"]).startswith(f"HTTP {method} /v1/approvals"), case
    pending = await call(gw, "GET", f"/v1/approvals/{approval_id}", headers=OPERATOR)
    assert pending.body["status"] == "APPROVAL_STATUS_PENDING"


class BoardBreaks(FakeAdapter):
    """A connector whose configuration check can be made to fail like a bug would."""

    broken = False

    @property
    def configured(self) -> bool:
        if self.broken:
            raise RuntimeError("secret detail of the failure")
        return True


async def test_an_unexpected_error_is_internal_with_a_trace_id_and_audited(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    adapter = BoardBreaks()
    settings = gateway_settings(tmp_path)
    async with running_gateway(settings, connectors=[Connector(adapter, registered=True)]) as gw:
        adapter.broken = True
        with caplog.at_level(logging.ERROR):
            got = await call(gw, "GET", "/v1/connectors/health")
        adapter.broken = False
        assert (got.status, got.reason) == (500, "INTERNAL")
        trace_id = got.body["error"]["metadata"]["trace_id"]
        assert trace_id in got.body["error"]["message"]
        assert "secret detail" not in str(got.body)
        row = last_row(gw)
        assert (row["event_type"], row["outcome"], row["reason"], row["trace_id"]) == (
            "request_rejected",
            "failed",
            "INTERNAL",
            trace_id,
        )
        assert "secret detail" not in str(row)
        logged = [r for r in caplog.records if trace_id in r.getMessage()]
        assert logged
        assert logged[0].exc_info is not None


# --- one approval, seen by someone else ------------------------------------------------------

POLICY = """
[callers.agent-a]
tenant = "default"
allow = ["fake.*"]

[callers.agent-b]
tenant = "default"
allow = ["fake.*"]

[callers.ops]
tenant = "default"
allow = []
operator = true
"""


async def test_another_callers_approval_looks_exactly_like_an_unknown_one(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY)
    settings = gateway_settings(
        tmp_path,
        auth={"policy_file": str(policy), "dev_caller": "agent-a", "dev_operator": "ops"},
    )
    async with running_gateway(
        settings, connectors=[Connector(FakeAdapter(), registered=True)]
    ) as gw:
        approval_id = await ask(gw, caller="agent-a")
        unknown_id = "apr_" + "0" * 24
        as_b = {DEV_CALLER_HEADER: "agent-b"}
        hidden = await call(gw, "GET", f"/v1/approvals/{approval_id}", headers=as_b)
        unknown = await call(gw, "GET", f"/v1/approvals/{unknown_id}", headers=as_b)
        assert (hidden.status, hidden.reason) == (404, "APPROVAL_NOT_FOUND")
        assert str(hidden.body).replace(approval_id, "ID") == str(unknown.body).replace(
            unknown_id, "ID"
        )
        rows = gw.audit_rows()[-2:]
        assert [(r["reason"], r["caller"]) for r in rows] == [
            ("APPROVAL_NOT_FOUND", "agent-b"),
            ("APPROVAL_NOT_FOUND", "agent-b"),
        ]
        own = await call(gw, "GET", f"/v1/approvals/{approval_id}", headers={})
        assert own.status == 200  # the requester (the development caller) sees it


# --- what operators see, page by page --------------------------------------------------------


async def test_operators_see_the_full_payload_and_pages_of_the_queue(
    fake_gateway: RunningGateway,
) -> None:
    gw = fake_gateway
    first = await ask(gw, "p1")
    second = await ask(gw, "p2", caller="local-agent")
    assert first == second  # the same action by the same caller: one request
    # The operator's own request for the same action is another request.
    assert await ask(gw, "p3", caller="local-operator") != first
    agent = {DEV_CALLER_HEADER: "local-agent"}
    seen_by_operator = await call(gw, "GET", f"/v1/approvals/{first}", headers=OPERATOR)
    seen_by_agent = await call(gw, "GET", f"/v1/approvals/{first}", headers=agent)
    assert seen_by_operator.status == seen_by_agent.status == 200
    # The fake connector is classified internal: short strings survive redaction, so compare
    # what each is told about the copy rather than the text.
    assert seen_by_operator.body["payload"] == {"text": "pay the invoice"}
    assert seen_by_operator.body.get("payload_full") is True
    assert not seen_by_agent.body.get("payload_full", False)

    page_one = await call(gw, "GET", "/v1/approvals?page_size=1", headers=OPERATOR)
    assert page_one.status == 200
    assert len(page_one.body["approvals"]) == 1
    token = page_one.body["next_page_token"]
    assert token
    page_two = await call(
        gw, "GET", f"/v1/approvals?page_size=1&page_token={token}", headers=OPERATOR
    )
    assert page_two.status == 200
    assert (
        page_two.body["approvals"][0]["approval_id"] != page_one.body["approvals"][0]["approval_id"]
    )
    for query in ("page_size=0", "page_size=1001", "page_size=x", "page_token=not-a-token"):
        before = audit_count(gw)
        got = await call(gw, "GET", f"/v1/approvals?{query}", headers=OPERATOR)
        assert (got.status, got.reason) == (400, "INVALID_FIELD"), (query, got)
        assert audit_count(gw) == before + 1
