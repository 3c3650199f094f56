"""The HTTP path of the sandboxes, end to end: the toy notes connector (a folder outside
``adapters/``) declares a sandbox on the shared base, and without a notes account the gateway
runs the toy's real adapter against it over loopback HTTP, tenant by tenant, with the
configured faults."""

from __future__ import annotations

import json
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from adapters.plugins import PLUGINS
from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import sandbox_service_pb2 as spb
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from gateway.auth.authenticator import DEV_CALLER_HEADER
from gateway.settings import Settings, settings_model
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal
from tests.toy_connector import PLUGIN as TOY

WITH_TOY = (*PLUGINS, TOY)
ToySettings = settings_model(WITH_TOY)
POLICY = """
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


def settings(tmp_path: Path, **overrides: Any) -> Settings:
    tmp_path.mkdir(exist_ok=True)
    policy = tmp_path / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return gateway_settings(
        tmp_path / "var",
        model=ToySettings,
        auth={"policy_file": str(policy), "dev_caller": "agent-acme"},
        policy={"allow_loosening": True, "overrides": {"toy.add_note": "A"}},
        **overrides,
    )


def as_caller(caller: str) -> tuple[tuple[str, str], ...]:
    return ((DEV_CALLER_HEADER, caller),)


def add_note(key: str, text: str = "buy milk") -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="toy", operation="add_note", idempotency_key=key)
    request.payload.update({"text": text})
    return request


def get_note(note_id: str) -> pb.ExecuteRequest:
    request = pb.ExecuteRequest(connector_key="toy", operation="get_note")
    request.payload.update({"note_id": note_id})
    return request


async def shown(gw: RunningGateway) -> list[dict[str, Any]]:
    answer = await spb_grpc.SandboxServiceStub(gw.channel).ShowSandbox(
        spb.ShowSandboxRequest(connector_key="toy"), metadata=as_caller("operator-acme"), timeout=5
    )
    return [json_format.MessageToDict(record) for record in answer.received]


async def test_each_tenant_writes_and_reads_its_own_notes_at_the_sandbox(tmp_path: Path) -> None:
    async with running_gateway(settings(tmp_path), plugins=WITH_TOY) as gw:
        acme, globex = as_caller("agent-acme"), as_caller("agent-globex")
        added = await gw.stub.Execute(add_note("w1"), metadata=acme, timeout=5)
        assert dict(added.result) == {"id": "n-1"}
        read = await gw.stub.Execute(get_note("n-1"), metadata=acme, timeout=5)
        assert dict(read.result) == {"id": "n-1", "text": "buy milk"}
        with pytest.raises(grpc.aio.AioRpcError) as caught:  # acme's note is not globex's
            await gw.stub.Execute(get_note("n-1"), metadata=globex, timeout=5)
        assert refusal(caught.value).metadata["vendor_status"] == "404"
        assert await shown(gw) == [{"id": "n-1", "text": "buy milk"}]

        health = await gw.stub.Health(
            pb.HealthRequest(connector_key="toy"), metadata=acme, timeout=5
        )
        assert (health.connectors[0].status, health.connectors[0].sandbox) == (
            pb.CONNECTOR_STATUS_OK,
            True,
        )
        rows = [r for r in gw.audit_rows() if r["connector_key"] == "toy"]
        assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {"true"}


async def test_faults_of_the_http_sandbox_reach_the_gateway_as_a_vendors_would(
    tmp_path: Path,
) -> None:
    fail = {"toy": {"status": 503, "at": "POST /notes", "times": 2}}
    async with running_gateway(settings(tmp_path, sandbox={"fail": fail}), plugins=WITH_TOY) as gw:
        ran = await gw.stub.Execute(add_note("w1"), metadata=as_caller("agent-acme"), timeout=5)
        assert ran.attempts == 3  # two 503s, retried: the sandbox had not acted
        assert len(await shown(gw)) == 1

    fail = {"toy": {"drop": True, "at": "POST /notes"}}
    dropped = settings(tmp_path / "dropped", sandbox={"fail": fail})
    async with running_gateway(dropped, plugins=WITH_TOY) as gw:
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(
                add_note("w1", "lost"), metadata=as_caller("agent-acme"), timeout=5
            )
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        assert await shown(gw) == [{"id": "n-1", "text": "lost"}]  # it acted; the answer was lost
