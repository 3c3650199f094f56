"""Property: whatever method, path, query, headers and body a well-formed HTTP request carries,
the HTTP side never answers 500, and every refusal it answers leaves an audit row naming the
same reason. (Malformed HTTP is refused by aiohttp's parser before any gateway code runs.)"""

from __future__ import annotations

import asyncio
import json
import socket
import sqlite3
import threading
import uuid
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path
from typing import Any
from urllib.parse import quote

import grpc
import pytest
from google.rpc import error_details_pb2
from grpc_status import rpc_status
from hypothesis import HealthCheck, event, given, settings
from hypothesis import strategies as st

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.http import csrf_token, status_and_body


@dataclass(frozen=True)
class Target:
    port: int
    grpc_address: str
    database: Path
    csrf_token: str  # issued to the development operator
    approval_ids: tuple[str, ...]


@pytest.fixture(scope="module")
def target(tmp_path_factory: pytest.TempPathFactory) -> Iterator[Target]:
    """A real gateway in its own thread and event loop, so that hypothesis's synchronous test
    body can talk to it over plain sockets."""
    data_dir: Path = tmp_path_factory.mktemp("http-property")
    ready = threading.Event()
    found: list[Target] = []
    stop: list[asyncio.Event] = []

    async def serve() -> None:
        async with running_gateway(
            # Every refusal here must leave its own row: no per-peer summary of them.
            gateway_settings(data_dir, audit={"unauthenticated_refusals_burst": 1_000_000}),
            connectors=[Connector(FakeAdapter(), registered=True)],
        ) as gw:
            for n in range(10):  # pending approvals for random requests to act on
                request = pb.ExecuteRequest(
                    connector_key="fake", operation="guarded", idempotency_key=f"k{n}"
                )
                request.payload.update({"text": f"action {n}"})
                with pytest.raises(grpc.aio.AioRpcError):
                    await gw.stub.Execute(request, timeout=5)
            rows = [r for r in gw.audit_rows() if r["reason"] == "APPROVAL_REQUIRED"]
            ids = [json.loads(r["detail"])["approval_id"] for r in rows]
            token = await csrf_token(gw, headers={DEV_CALLER_HEADER: "local-operator"})
            found.append(
                Target(
                    gw.gateway.http_port,
                    gw.address,
                    gw.gateway.settings.database_path,
                    token,
                    tuple(ids),
                )
            )
            stop.append(asyncio.Event())
            ready.set()
            await stop[0].wait()

    loop = asyncio.new_event_loop()
    thread = threading.Thread(target=loop.run_until_complete, args=(serve(),), daemon=True)
    thread.start()
    assert ready.wait(30), "the gateway did not start"
    yield found[0]
    loop.call_soon_threadsafe(stop[0].set)
    thread.join(30)


def audit_rows(database: Path) -> tuple[int, str]:
    """How many audit rows there are, and the reason of the last."""
    with sqlite3.connect(database) as conn:
        count, reason = conn.execute(
            "SELECT count(*), (SELECT reason FROM audit_events ORDER BY seq DESC LIMIT 1) "
            "FROM audit_events"
        ).fetchone()
    return int(count), str(reason or "")


def exchange(port: int, request: bytes) -> bytes:
    with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
        sock.sendall(request)
        chunks = []
        while chunk := sock.recv(65536):
            chunks.append(chunk)
    return b"".join(chunks)


# --- what a request may carry ----------------------------------------------------------------

METHODS = ["GET", "HEAD", "POST", "PUT", "DELETE", "PATCH", "OPTIONS", "TRACE", "PROPFIND"]
# Headers that frame the message are set by the test; random ones must not change framing.
FRAMING = {"content-length", "transfer-encoding", "host", "connection", "upgrade", "expect", "te"}
SPECIAL_HEADERS = [
    "Authorization",
    "X-CSRF-Token",
    DEV_CALLER_HEADER,
    "Origin",
    "Cookie",
    "Sec-Fetch-Site",
    "Content-Type",
]

segment = st.text(max_size=12).map(lambda t: quote(t, safe="")) | st.sampled_from(
    ["%FF", "%C3", "%00", "%2F", "..", "approve", "deny", "v1", "approvals", "apr_0"]
)


@st.composite
def routes(draw: st.DrawFn, approval_ids: tuple[str, ...]) -> tuple[str, str]:
    """Mostly a route the gateway serves, with its own method; else anything."""
    approval = draw(st.sampled_from(approval_ids) | segment)
    connector = draw(st.sampled_from(["fake"]) | segment)
    served = [
        ("GET", "/healthz"),
        ("GET", "/login"),
        ("GET", "/v1/connectors/health"),
        ("GET", "/api/v1/connectors/governance"),
        ("POST", f"/api/v1/connectors/{connector}/disable"),
        ("POST", f"/api/v1/connectors/{connector}/enable"),
        ("GET", "/v1/csrf-token"),
        ("GET", "/v1/approvals"),
        ("GET", f"/v1/approvals/{approval}"),
        ("POST", f"/v1/approvals/{approval}/approve"),
        ("POST", f"/v1/approvals/{approval}/deny"),
    ]
    method, path = draw(st.sampled_from(served))
    if draw(st.integers(0, 3)) == 0:
        method = draw(st.sampled_from(METHODS))
    if draw(st.integers(0, 4)) == 0:
        path = "/" + "/".join(draw(st.lists(segment, max_size=4)))
    return method, path


queries = st.lists(
    st.tuples(
        st.sampled_from(["status", "token"]) | st.text(max_size=6),
        st.sampled_from(["pending", "granted", "bogus", ""]) | st.text(max_size=20),
    ),
    max_size=3,
).map(lambda pairs: "&".join(f"{quote(k, safe='')}={quote(v, safe='')}" for k, v in pairs))

# Visible ASCII and obs-text (bytes 0x80-0xFF: undecodable as UTF-8 on their own).
header_values = st.lists(st.integers(0x20, 0x7E) | st.integers(0x80, 0xFF), max_size=60).map(
    lambda codes: bytes(codes).strip(b" ")
)
header_names = st.sampled_from(SPECIAL_HEADERS) | st.from_regex(
    r"\A[A-Za-z][A-Za-z0-9-]{0,20}\Z"
).filter(lambda name: name.lower() not in FRAMING)

json_values = st.recursive(
    st.none() | st.booleans() | st.integers() | st.text(max_size=30),
    lambda inner: st.lists(inner, max_size=3) | st.dictionaries(st.text(max_size=8), inner),
    max_leaves=8,
)
bodies = (
    st.binary(max_size=200)
    | st.sampled_from([b'{"note": "\\ud800"}', b'{"reason": "\\udcff x"}', b"[" * 5000])
    | json_values.map(lambda v: json.dumps(v).encode())
    | st.dictionaries(st.sampled_from(["note", "reason"]), json_values, max_size=2).map(
        lambda v: json.dumps(v).encode()
    )
)


@st.composite
def requests(draw: st.DrawFn, target: Target) -> tuple[str, bytes]:
    method, path = draw(routes(target.approval_ids))
    query = draw(queries)
    port = target.port
    own = f"127.0.0.1:{port}"
    host = draw(st.sampled_from([own, own, own, f"localhost:{port}", "evil.example", "[::1]"]))
    own_origin = f"http://127.0.0.1:{port}"
    headers: dict[str, bytes] = {}

    def often(value: bytes, otherwise: st.SearchStrategy[bytes]) -> bytes:
        return value if draw(st.integers(0, 9)) < 7 else draw(otherwise)

    if draw(st.integers(0, 9)) < 8:
        headers[DEV_CALLER_HEADER] = often(
            b"local-operator", st.sampled_from([b"local-agent"]) | header_values
        )
    if draw(st.integers(0, 9)) < 8:
        headers["X-CSRF-Token"] = often(target.csrf_token.encode(), header_values)
    if draw(st.integers(0, 3)) == 0:  # a browser's request
        headers["Origin"] = draw(
            st.sampled_from([own_origin.encode(), b"null", b"http://evil.example"]) | header_values
        )
    if draw(st.integers(0, 3)) == 0:
        for name, value in draw(st.lists(st.tuples(header_names, header_values), max_size=4)):
            headers.setdefault(name, value)
    body = draw(bodies) if method not in ("GET", "HEAD") or draw(st.booleans()) else b""
    head = [
        f"{method} {path}{'?' + query if query else ''} HTTP/1.1".encode(),
        b"Host: " + host.encode(),
        b"Connection: close",
        f"Content-Length: {len(body)}".encode(),
        *(name.encode() + b": " + value for name, value in headers.items()),
    ]
    return method, b"\r\n".join(head) + b"\r\n\r\n" + body


@settings(
    max_examples=300,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(data=st.data())
def test_no_request_gets_a_500_and_every_refusal_is_audited(target: Target, data: Any) -> None:
    method, request = data.draw(requests(target))
    before, _ = audit_rows(target.database)
    response = exchange(target.port, request)
    status, body = status_and_body(response)
    assert status < 500, (request, response)
    if status < 400:
        event(f"HTTP {status}")
        return
    after, last_reason = audit_rows(target.database)
    event(f"HTTP {status} {last_reason}")
    assert after == before + 1, (request, response)
    if method != "HEAD":  # a HEAD answer has no body
        assert isinstance(body, dict), (
            request,
            response,
        )  # the gateway's refusal, not the parser's
        assert body["error"]["reason"] == last_reason


def fresh_approval(target: Target) -> str:
    """A new pending approval, asked for over gRPC by the development caller."""
    request = pb.ExecuteRequest(
        connector_key="fake", operation="guarded", idempotency_key=uuid.uuid4().hex
    )
    request.payload.update({"text": request.idempotency_key})
    with grpc.insecure_channel(target.grpc_address) as channel:
        execute = channel.unary_unary(
            "/connectorgateway.v1.ConnectorService/Execute",
            request_serializer=pb.ExecuteRequest.SerializeToString,
            response_deserializer=pb.ExecuteResponse.FromString,
        )
        with pytest.raises(grpc.RpcError) as caught:
            execute(request, timeout=10)
    status = rpc_status.from_call(caught.value)
    assert status is not None
    info = error_details_pb2.ErrorInfo()
    status.details[0].Unpack(info)
    return str(info.metadata["approval_id"])


@settings(
    max_examples=100,
    deadline=None,
    suppress_health_check=[HealthCheck.too_slow, HealthCheck.function_scoped_fixture],
)
@given(
    grant=st.booleans(),
    body=bodies,
    query=queries,
    extra=st.lists(st.tuples(header_names, header_values), max_size=3),
)
def test_an_operator_deciding_a_pending_approval_never_gets_a_500(
    target: Target,
    grant: bool,
    body: bytes,
    query: str,
    extra: list[tuple[str, bytes]],
) -> None:
    """Every change an operator may make reaches the body and the store: whatever the body,
    the answer is a decision or a refusal with its audit row."""
    approval_id = fresh_approval(target)
    fixed = {DEV_CALLER_HEADER: b"local-operator", "X-CSRF-Token": target.csrf_token.encode()}
    # Other headers, but none that changes who calls or makes it a browser's request.
    taken = {*(n.lower() for n in fixed), "authorization", "origin", "cookie"}
    headers = {
        **{
            name: value
            for name, value in extra
            if name.lower() not in taken and not name.lower().startswith("sec-fetch-")
        },
        **fixed,
    }
    path = f"/v1/approvals/{approval_id}/{'approve' if grant else 'deny'}"
    head = [
        f"POST {path}{'?' + query if query else ''} HTTP/1.1".encode(),
        f"Host: 127.0.0.1:{target.port}".encode(),
        b"Connection: close",
        f"Content-Length: {len(body)}".encode(),
        *(name.encode() + b": " + value for name, value in headers.items()),
    ]
    before, _ = audit_rows(target.database)
    response = exchange(target.port, b"\r\n".join(head) + b"\r\n\r\n" + body)
    status, answer = status_and_body(response)
    assert status < 500, (body, response)
    after, last_reason = audit_rows(target.database)
    if status >= 400:
        event(f"HTTP {status} {last_reason}")
        assert after == before + 1
        assert answer["error"]["reason"] == last_reason
    else:
        event(f"HTTP {status}")
        assert after == before + 1  # the decision's own row
