"""A connector that lives in one folder outside the gateway (``tests/toy_connector``) is
served once its plugin joins the list: configured from a TOML file and the environment per
tenant, listed and described, its class A read run end to end at a loopback vendor with the
calling tenant's key, its class B write run once after a person's approval, and run at the
connector's sandbox for a tenant without an account, never at the vendor. A mistyped account
setting stops the load, naming the setting."""

from __future__ import annotations

from collections.abc import AsyncIterator
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

import grpc
import pytest
from aiohttp import web
from pydantic import ValidationError

from adapters.plugins import PLUGINS
from connectorgateway.v1 import approval_service_pb2 as apb
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.settings import Settings, settings_model
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.toy_connector import PLUGIN as TOY

WITH_TOY = (*PLUGINS, TOY)
ToySettings = settings_model(WITH_TOY)

POLICY = """
[callers.agent-default]
tenant = "default"
allow = ["toy.*"]

[callers.agent-acme]
tenant = "acme"
allow = ["toy.*"]

[callers.agent-globex]
tenant = "globex"
allow = ["toy.*"]

[callers.operator-acme]
tenant = "acme"
operator = true
"""


def as_caller(caller: str) -> tuple[tuple[str, str], ...]:
    return ((DEV_CALLER_HEADER, caller),)


@dataclass
class NotesVendor:
    """The notes service on loopback; records what it received."""

    received: list[dict[str, Any]] = field(default_factory=list)
    url: str = ""

    async def get_note(self, request: web.Request) -> web.Response:
        self._record(request, None)
        return web.json_response({"id": request.match_info["note_id"], "text": "milk"})

    async def add_note(self, request: web.Request) -> web.Response:
        self._record(request, await request.json())
        return web.json_response({"id": f"n-{len(self.received)}"}, status=201)

    def _record(self, request: web.Request, body: Any) -> None:
        self.received.append(
            {
                "method": request.method,
                "path": request.path,
                "authorization": request.headers.get("Authorization"),
                "body": body,
            }
        )


@pytest.fixture
async def vendor() -> AsyncIterator[NotesVendor]:
    notes = NotesVendor()
    app = web.Application()
    app.router.add_get("/notes/{note_id}", notes.get_note)
    app.router.add_post("/notes", notes.add_note)
    runner = web.AppRunner(app)
    await runner.setup()
    site = web.TCPSite(runner, "127.0.0.1", 0)
    await site.start()
    host, port = runner.addresses[0][:2]
    notes.url = f"http://{host}:{port}"
    try:
        yield notes
    finally:
        await runner.cleanup()


def toy_settings(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, **env: str
) -> Settings:
    """Settings as an operator writes them: a TOML file, and the environment on top."""
    config = tmp_path / "gateway.toml"
    config.write_text(toml, encoding="utf-8")
    monkeypatch.setenv("CONNECTOR_GATEWAY_CONFIG", str(config))
    for name, value in env.items():
        monkeypatch.setenv(f"CONNECTOR_GATEWAY_{name}", value)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return gateway_settings(
        tmp_path / "var",
        model=ToySettings,
        auth={"policy_file": str(policy), "dev_caller": "agent-default"},
    )


@pytest.fixture
async def toy_gateway(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, vendor: NotesVendor
) -> AsyncIterator[RunningGateway]:
    # The default tenant's account in the file; acme's in the environment; globex has none.
    settings = toy_settings(
        tmp_path,
        monkeypatch,
        f'[toy]\nbase_url = "{vendor.url}"\napi_key = "default-key"\n',
        TENANTS__ACME__TOY__BASE_URL=vendor.url,
        TENANTS__ACME__TOY__API_KEY="acme-key",
    )
    async with running_gateway(settings, plugins=WITH_TOY) as gw:
        yield gw


def get_note(key: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="toy", operation="get_note", idempotency_key=key)
    request.payload.update({"note_id": "n-7"})
    return request


def add_note(key: str, approval_id: str = "") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(
        connector_key="toy", operation="add_note", idempotency_key=key, approval_id=approval_id
    )
    request.payload.update({"text": "buy milk"})
    return request


async def test_the_toy_connector_is_listed_and_described(toy_gateway: RunningGateway) -> None:
    listed = await toy_gateway.stub.ListConnectors(
        pb.ListConnectorsRequest(), metadata=as_caller("agent-acme"), timeout=5
    )
    [toy] = [c for c in listed.connectors if c.key == "toy"]
    assert (toy.display_name, toy.display_name_ar, toy.version) == (
        "Toy notes",
        "ملاحظات تجريبية",
        "0.3.0",
    )
    assert {c.key for c in listed.connectors} >= {"email", "whatsapp", "toy"}

    async def describe(caller: str) -> pb.ConnectorDescriptor:
        described = await toy_gateway.stub.DescribeConnector(
            pb.DescribeConnectorRequest(connector_key="toy"), metadata=as_caller(caller), timeout=5
        )
        return described.connector

    acme = await describe("agent-acme")
    assert [(op.name, op.policy_class) for op in acme.operations] == [
        ("add_note", pb.POLICY_CLASS_B),
        ("get_note", pb.POLICY_CLASS_A),
    ]
    assert (acme.registered, acme.configured, acme.sandbox) == (True, True, False)
    globex = await describe("agent-globex")
    assert (globex.registered, globex.configured, globex.sandbox) == (True, True, True)


async def test_a_class_a_read_reaches_the_vendor_with_the_tenants_own_key(
    toy_gateway: RunningGateway, vendor: NotesVendor
) -> None:
    for caller in ("agent-acme", "agent-default"):
        response = await toy_gateway.stub.Execute(
            get_note(f"read-{caller}"), metadata=as_caller(caller), timeout=5
        )
        assert dict(response.result) == {"id": "n-7", "text": "milk"}
    assert [(r["method"], r["path"], r["authorization"]) for r in vendor.received] == [
        ("GET", "/notes/n-7", "Bearer acme-key"),
        ("GET", "/notes/n-7", "Bearer default-key"),
    ]
    succeeded = [r for r in toy_gateway.audit_rows() if r["event_type"] == "note_read"]
    assert [r["tenant"] for r in succeeded] == ["acme", "default"]


async def test_a_class_b_write_runs_once_after_approval(
    toy_gateway: RunningGateway, vendor: NotesVendor
) -> None:
    agent = as_caller("agent-acme")
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await toy_gateway.stub.Execute(add_note("w1"), metadata=agent, timeout=5)
    asked = refusal(caught.value)
    assert asked.reason == "APPROVAL_REQUIRED"
    assert vendor.received == []

    approvals = apb_grpc.ApprovalServiceStub(toy_gateway.channel)
    granted = await approvals.ApproveApproval(
        apb.ApproveApprovalRequest(approval_id=asked.metadata["approval_id"], note="ok"),
        metadata=as_caller("operator-acme"),
        timeout=5,
    )
    assert granted.approval.status == apb.APPROVAL_STATUS_GRANTED

    approved = add_note("w1", approval_id=asked.metadata["approval_id"])
    ran = await toy_gateway.stub.Execute(approved, metadata=agent, timeout=5)
    again = await toy_gateway.stub.Execute(approved, metadata=agent, timeout=5)
    assert (ran.replayed, again.replayed) == (False, True)
    assert dict(again.result) == dict(ran.result) == {"id": "n-1"}
    assert vendor.received == [
        {
            "method": "POST",
            "path": "/notes",
            "authorization": "Bearer acme-key",
            "body": {"text": "buy milk"},
        }
    ]


async def test_a_tenant_without_an_account_acts_at_the_sandbox_not_the_vendor(
    toy_gateway: RunningGateway, vendor: NotesVendor
) -> None:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await toy_gateway.stub.Execute(
            get_note("read-globex"), metadata=as_caller("agent-globex"), timeout=5
        )
    seen = refusal(caught.value)  # globex has written no note at its sandbox
    assert (seen.code, seen.reason) == (grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED")
    assert seen.metadata["vendor_status"] == "404"
    assert vendor.received == []


TOY_ACCOUNT = '[toy]\nbase_url = "http://127.0.0.1:9"\napi_key = "k"\n'


@pytest.mark.parametrize(
    ("toml", "env", "named"),
    [
        (TOY_ACCOUNT + 'api_kye = "k"\n', {}, "toy.api_kye"),
        ("", {"TENANTS__ACME__TOY__BASEURL": "http://127.0.0.1:9"}, "tenants.acme.toy.baseurl"),
    ],
)
def test_an_unknown_account_setting_stops_the_load_naming_it(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch, toml: str, env: dict[str, str], named: str
) -> None:
    with pytest.raises(ValidationError) as caught:
        toy_settings(tmp_path, monkeypatch, toml, **env)
    assert named in str(caught.value)
    assert "Extra inputs are not permitted" in str(caught.value)
