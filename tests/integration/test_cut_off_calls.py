"""Calls cut off before the gateway's own answer: when the deadline layer's backstop answers
for a gateway too slow to answer itself, the answer still says what happened (a write's
unknown outcome names its execution, a read only missed its answer); when the agent gives up
while the vendor handles its request, the execution is recorded as it stood."""

from __future__ import annotations

import asyncio
import json
from pathlib import Path

import grpc
import pytest
from google.protobuf.message import Message

from connectorgateway.v1 import connector_service_pb2 as pb
from gateway.call import Call, Context
from gateway.interceptors.base import Next
from gateway.registry import Connector
from tests.support.cli import run_cli_at
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import RunningGateway, gateway_settings, running_gateway
from tests.support.rpc import refusal


class AnswersLate:
    """The innermost layer of a gateway that has acted but is too slow to answer: it holds
    the answer of every Execute until the deadline's backstop gives up on the call."""

    name = "answers_late"

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        answer = await call_next(call)
        if call.method == "Execute":
            await asyncio.Event().wait()
        return answer


async def test_an_answer_cut_off_by_the_deadline_names_its_execution(tmp_path: Path) -> None:
    fake = FakeAdapter()
    async with running_gateway(
        gateway_settings(tmp_path, max_call_deadline_ms=500),
        connectors=[Connector(fake, registered=True)],
        wrap_layers=lambda layers: [*layers, AnswersLate()],
    ) as gw:
        request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="e1")
        request.payload.update({"text": "hi"})
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(request, timeout=10)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        assert seen.metadata["connector_key"] == "fake"
        execution_id = seen.metadata["execution_id"]

        # The execution it names is the one that ran, and the operator can look it up.
        shown = await run_cli_at(gw, "executions", "get", execution_id)
        assert shown.returncode == 0, shown.stderr
        assert json.loads(shown.stdout)["status"] == "EXECUTION_STATUS_SUCCEEDED"
        assert len(fake.calls) == 1


async def test_a_read_cut_off_by_the_deadline_only_missed_its_answer(tmp_path: Path) -> None:
    fake = FakeAdapter()
    async with running_gateway(
        gateway_settings(tmp_path, max_call_deadline_ms=500),
        connectors=[Connector(fake, registered=True)],
        wrap_layers=lambda layers: [*layers, AnswersLate()],
    ) as gw:
        request = pb.ExecuteRequest(connector_key="fake", operation="lookup")
        request.payload.update({"text": "hi"})
        with pytest.raises(grpc.aio.AioRpcError) as caught:
            await gw.stub.Execute(request, timeout=10)
        seen = refusal(caught.value)
        assert (seen.code, seen.reason) == (grpc.StatusCode.DEADLINE_EXCEEDED, "DEADLINE_EXCEEDED")
        assert seen.metadata["attempts"] == "1"
        assert len(fake.calls) == 1


async def test_an_agent_giving_up_mid_call_leaves_the_execution_as_it_stood(
    fake_gateway: RunningGateway, fake: FakeAdapter
) -> None:
    gw = fake_gateway
    fake.hold = asyncio.Event()  # the vendor has the request and takes its time
    request = pb.ExecuteRequest(connector_key="fake", operation="echo", idempotency_key="e1")
    request.payload.update({"text": "hi"})
    given_up = gw.stub.Execute(request, timeout=10)
    async with asyncio.timeout(5):
        await fake.entered.wait()
    given_up.cancel()

    # The repeat waits for the abandoned call's record, and replays it.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await gw.stub.Execute(request, timeout=10)
    seen = refusal(caught.value)
    assert (seen.reason, seen.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    listed = await run_cli_at(gw, "executions", "list", "--status", "unknown", "--json")
    [execution] = json.loads(listed.stdout)
    assert execution["execution_id"] == seen.metadata["execution_id"]
    assert execution["attempts"] == 1
    assert len(fake.calls) == 1
