"""The WhatsApp connector end to end: an agent's Execute over gRPC, through the whole chain and
a person's approval, to Prism serving Meta's published description, and back. Every message
WhatsApp received is checked against the faithful description. Graph's errors reach the agent
as the documented reasons (a closed customer service window as its own); a lost answer stays
unknown for an operator and is never sent twice; payloads that break the model never reach
WhatsApp; the phone number probe; and the token appears in no row, log or error."""

from __future__ import annotations

import json
import logging
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.adapters.whatsapp.fake_graph import (
    ACCESS_TOKEN,
    PHONE_NUMBER_ID,
    fake_graph,
    graph_error,
)
from tests.integration.approved import approved
from tests.integration.reasons.observe import AGENT, OPERATOR, executions, refused_rpc
from tests.integration.whatsapp_rig import (
    MESSAGES,
    TEXT,
    WHATSAPP,
    WHATSAPP_PRISM,
    execute,
    prism_whatsapp,
    send,
    whatsapp_gateway,
)
from tests.support.cli import run_cli_at
from tests.support.documented_errors import documented_reasons
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.prism import PrismServers
from tests.support.vendor_schema import VendorSchema
from tests.support.waiting import wait_until

PRISM_WAMID = "wamid.HBgLMTY1MDM4Nzk0MzkVAgARGBJCOTY3NDc0NDFDRUI3NTA0Q0UA"
TEMPLATE = {
    "to": "+966501234567",
    "template": {
        "name": "order_confirmation",
        "language": {"code": "en_US"},
        "components": [
            {
                "type": "header",
                "parameters": [{"type": "image", "image": {"link": "https://example.com/o.png"}}],
            },
            {
                "type": "body",
                "parameters": [
                    {"type": "text", "text": "Sara"},
                    {
                        "type": "currency",
                        "currency": {
                            "fallback_value": "SAR 100.99",
                            "code": "SAR",
                            "amount_1000": 100990,
                        },
                    },
                ],
            },
            {
                "type": "button",
                "sub_type": "url",
                "index": "1",
                "parameters": [{"type": "text", "text": "orders/1001"}],
            },
        ],
    },
}


def events(rows: list[dict[str, Any]]) -> list[str]:
    return [row["event_type"] for row in rows]


# --- each operation ---------------------------------------------------------------------------


async def test_send_text_runs_once_after_a_persons_approval(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with prism_whatsapp(tmp_path, prism.url(WHATSAPP_PRISM)) as (whatsapp, _):
        go = await approved(whatsapp.gw, execute("send_text", TEXT, "t1"))
        assert whatsapp.vendor.requests == []  # nothing before the approval
        sent = await whatsapp.gw.stub.Execute(go, metadata=AGENT, timeout=20)
        again = await whatsapp.gw.stub.Execute(go, metadata=AGENT, timeout=20)
        rows = whatsapp.gw.audit_rows()
    assert (sent.replayed, again.replayed) == (False, True)
    assert sent.result["message_id"] == PRISM_WAMID
    assert dict(again.result) == dict(sent.result)
    [message] = whatsapp.vendor.requests
    assert (message.method, message.path) == ("POST", MESSAGES)
    assert message.headers["Authorization"] == f"Bearer {ACCESS_TOKEN}"
    assert message.json() == {
        "messaging_product": "whatsapp",
        "recipient_type": "individual",
        "to": "+966501234567",
        "type": "text",
        "text": {"body": "Your order has shipped.", "preview_url": False},
    }
    VendorSchema.load(WHATSAPP).check(message)
    assert "message_sent" in events(rows)
    assert events(rows)[-1] == "execution_replayed"


async def test_send_template_reaches_whatsapp_as_described(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with prism_whatsapp(tmp_path, prism.url(WHATSAPP_PRISM)) as (whatsapp, _):
        sent = await send(whatsapp, "send_template", TEMPLATE, "tpl-1")
    assert sent.result["message_id"] == PRISM_WAMID
    [message] = whatsapp.vendor.requests
    body = message.json()
    assert (body["type"], body["to"]) == ("template", "+966501234567")
    assert body["template"] == TEMPLATE["template"] | {
        "language": {"code": "en_US", "policy": "deterministic"}
    }
    VendorSchema.load(WHATSAPP).check(message)
    assert whatsapp.vendor.statuses == [200]


async def test_a_sent_message_cannot_be_undone(tmp_path: Path, prism: PrismServers) -> None:
    async with prism_whatsapp(tmp_path, prism.url(WHATSAPP_PRISM)) as (whatsapp, _):
        sent = await send(whatsapp, "send_text", TEXT, "t1")
        seen = await refused_rpc(
            whatsapp.gw.stub.Compensate(
                pb.CompensateRequest(
                    execution_id=sent.execution_id, reason="wrong person", idempotency_key="u1"
                ),
                metadata=AGENT,
                timeout=20,
            ),
            whatsapp.gw,
        )
    assert (seen.reason, seen.metadata) == (
        "NOT_COMPENSABLE",
        {"connector_key": "whatsapp", "operation": "send_text"},
    )
    assert len(whatsapp.vendor.requests) == 1


# --- WhatsApp's errors ------------------------------------------------------------------------

DOCUMENTED = documented_reasons()
ALL_ATTEMPTS = 4  # the first and the three retries of the declared policy


@pytest.mark.parametrize(
    ("status", "vendor_code", "code", "reason", "attempts"),
    [
        (400, "100", grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", 1),
        (401, "190", grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
        (403, "200", grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", 1),
        (429, "4", grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED", ALL_ATTEMPTS),
        # A send that failed inside WhatsApp may have been sent: nobody can tell.
        (500, "1", grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN", 1),
    ],
)
async def test_graph_errors_reach_the_agent_as_documented(
    tmp_path: Path,
    prism: PrismServers,
    status: int,
    vendor_code: str,
    code: grpc.StatusCode,
    reason: str,
    attempts: int,
) -> None:
    async with prism_whatsapp(tmp_path, prism.url(WHATSAPP_PRISM)) as (whatsapp, prefer):
        request = await approved(whatsapp.gw, execute("send_text", TEXT, f"e{status}"))
        prefer.prefer = f"code={status}"
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
    assert (seen.code, seen.reason) == (code, reason)
    assert whatsapp.vendor.statuses == [status] * attempts
    assert seen.metadata["attempts"] == str(attempts)
    assert seen.metadata["vendor_code"] == vendor_code
    for key in DOCUMENTED[reason].metadata_keys:
        if key != "replayed":  # only a repeat's answer says it is one
            assert seen.metadata.get(key), (reason, key, seen.metadata)
    VendorSchema.load(WHATSAPP).check(whatsapp.vendor.last())


async def test_an_unknown_phone_number_is_refused(tmp_path: Path) -> None:
    """Prism declares no 404 for the messages call: a small Graph API answers it."""
    async with (
        fake_graph() as graph,
        whatsapp_gateway(tmp_path, graph.url, account={"phone_number_id": "999"}) as whatsapp,
    ):
        request = await approved(whatsapp.gw, execute("send_text", TEXT, "n1"))
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
    assert (seen.reason, seen.metadata["vendor_status"]) == ("VENDOR_REJECTED", "404")
    assert seen.metadata["vendor_code"] == "100"
    assert graph.sent == 0


async def test_a_closed_service_window_tells_the_agent_to_send_a_template(tmp_path: Path) -> None:
    async with fake_graph() as graph, whatsapp_gateway(tmp_path, graph.url) as whatsapp:
        graph.fail_next(400, graph_error(131047, "Re-engagement message", subcode=2494010))
        request = await approved(whatsapp.gw, execute("send_text", TEXT, "w1"))
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
        repeat = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
        template = await send(whatsapp, "send_template", TEMPLATE, "w2")
    assert (seen.code, seen.reason) == (
        grpc.StatusCode.FAILED_PRECONDITION,
        "MESSAGING_WINDOW_CLOSED",
    )
    assert "send_template" in seen.message
    assert (seen.metadata["vendor_code"], seen.metadata["attempts"]) == ("131047", "1")
    assert (repeat.reason, repeat.metadata["replayed"]) == ("MESSAGING_WINDOW_CLOSED", "true")
    assert seen.audit_row()["event_type"] == "message_failed"
    assert template.result["message_id"]
    assert len(whatsapp.vendor.requests) == 2  # the refused text once, then the template


async def test_graph_throttling_answered_400_is_retried_then_rate_limited(tmp_path: Path) -> None:
    async with fake_graph() as graph, whatsapp_gateway(tmp_path, graph.url) as whatsapp:
        graph.fail_next(400, graph_error(131056, "(#131056) Pair rate limit hit"), ALL_ATTEMPTS)
        request = await approved(whatsapp.gw, execute("send_text", TEXT, "r1"))
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
        # WhatsApp never sent it: the key is free, and the same request goes through now.
        sent = await whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20)
    assert (seen.code, seen.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED")
    assert seen.metadata["vendor_code"] == "131056"
    assert seen.metadata["attempts"] == str(ALL_ATTEMPTS)
    assert seen.retry_delay_ms is not None
    assert sent.result["message_id"]
    assert graph.sent == 1


# --- a lost answer ----------------------------------------------------------------------------


async def test_a_lost_answer_stays_unknown_is_listed_and_is_never_sent_twice(
    tmp_path: Path, prism: PrismServers
) -> None:
    async with whatsapp_gateway(tmp_path, prism.url(WHATSAPP_PRISM)) as whatsapp:
        request = await approved(whatsapp.gw, execute("send_text", TEXT, "lost-1"))
        whatsapp.vendor.drop_after_forwarding()
        first = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
        listed = await executions(whatsapp.gw).ListExecutions(
            epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
            metadata=OPERATOR,
            timeout=10,
        )
        cli = await run_cli_at(whatsapp.gw, "executions", "list", "--status", "unknown", "--json")
        # The vendor offers no lookup: an operator finds out at the vendor instead.
        asked = await refused_rpc(
            executions(whatsapp.gw).ReconcileExecution(
                epb.ReconcileExecutionRequest(execution_id=first.metadata["execution_id"]),
                metadata=OPERATOR,
                timeout=10,
            ),
            whatsapp.gw,
        )
        repeat = await refused_rpc(
            whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
        )
    assert (first.code, first.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    execution_id = first.metadata["execution_id"]
    assert [(e.execution_id, e.operation) for e in listed.executions] == [
        (execution_id, "send_text")
    ]
    assert (asked.reason, asked.metadata["why"]) == ("VENDOR_LOOKUP_UNAVAILABLE", "no_lookup")
    assert cli.returncode == 0, cli.stderr
    [shown] = json.loads(cli.stdout)
    assert (shown["execution_id"], shown["idempotency_key"]) == (execution_id, "lost-1")
    assert (repeat.reason, repeat.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    assert whatsapp.vendor.statuses == [200]  # WhatsApp took the message once; nobody heard


# --- what never reaches WhatsApp --------------------------------------------------------------


@pytest.mark.parametrize(
    ("operation", "payload", "field"),
    [
        ("send_text", TEXT | {"to": "966501234567"}, "payload.to"),
        ("send_text", TEXT | {"to": "+966 50 123 4567"}, "payload.to"),
        ("send_text", {"to": "+966501234567", "text": {"body": ""}}, "payload.text.body"),
        ("send_text", TEXT | {"type": "text"}, "payload.type"),
        ("send_template", TEMPLATE | {"to": "+0501234567"}, "payload.to"),
        (
            "send_template",
            {"to": "+966501234567", "template": {"name": "Order", "language": {"code": "ar"}}},
            "payload.template.name",
        ),
        (
            "send_template",
            {"to": "+966501234567", "template": {"name": "x", "language": {"code": "Arabic"}}},
            "payload.template.language.code",
        ),
    ],
)
async def test_a_payload_that_breaks_the_model_never_reaches_whatsapp(
    tmp_path: Path, prism: PrismServers, operation: str, payload: dict[str, Any], field: str
) -> None:
    async with prism_whatsapp(tmp_path, prism.url(WHATSAPP_PRISM)) as (whatsapp, _):
        seen = await refused_rpc(
            whatsapp.gw.stub.Execute(
                execute(operation, payload, "bad-1"), metadata=AGENT, timeout=20
            ),
            whatsapp.gw,
        )
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert any(name.startswith(field) for name in seen.fields), seen.fields
    assert whatsapp.vendor.requests == []
    assert events(seen.audit_rows) == ["request_rejected"]


# --- the probe --------------------------------------------------------------------------------


async def _probed(gw: Any) -> pb.ConnectorHealth | None:
    answer = await gw.stub.Health(pb.HealthRequest(connector_key="whatsapp"), timeout=10)
    entry: pb.ConnectorHealth = answer.connectors[0]
    return entry if entry.status != pb.CONNECTOR_STATUS_UNKNOWN else None


@pytest.mark.parametrize(
    ("account", "status", "error"),
    [
        ({}, pb.CONNECTOR_STATUS_OK, ""),
        ({"access_token": "revoked-token-0000"}, pb.CONNECTOR_STATUS_ERROR, "VENDOR_AUTH_FAILED"),
    ],
)
async def test_the_phone_number_probe_sets_the_connectors_health(
    tmp_path: Path, account: dict[str, Any], status: int, error: str
) -> None:
    """The phone number resource is not in the trimmed description: a small Graph serves it."""
    # Once at start, then not within the test; one failed probe is enough for error.
    probes = {"health": {"probe_interval_s": 3600, "probe_failures_for_error": 1}}
    async with (
        fake_graph() as graph,
        whatsapp_gateway(tmp_path, graph.url, account=account, **probes) as whatsapp,
    ):
        seen = await wait_until(lambda: _probed(whatsapp.gw), what="the connector probed")
    assert seen.status == status
    assert error in seen.last_error
    [read] = whatsapp.vendor.requests
    assert (read.method, read.path) == ("GET", f"/v23.0/{PHONE_NUMBER_ID}")


# --- configuration and credentials ------------------------------------------------------------


async def test_the_account_comes_from_the_environment_and_a_token_file(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    token = tmp_path / "whatsapp-token"
    token.write_text(ACCESS_TOKEN + "\n", encoding="utf-8")
    async with fake_graph() as graph:
        for name, value in {
            "WHATSAPP__PHONE_NUMBER_ID": PHONE_NUMBER_ID,
            "WHATSAPP__ACCESS_TOKEN_FILE": str(token),
            "WHATSAPP__BASE_URL": graph.url,
            "WHATSAPP__GRAPH_VERSION": "v23.0",
        }.items():
            monkeypatch.setenv(f"CONNECTOR_GATEWAY_{name}", value)
        async with running_gateway(gateway_settings(tmp_path)) as gw:
            request = await approved(gw, execute("send_text", TEXT, "env-1"))
            sent = await gw.stub.Execute(request, metadata=AGENT, timeout=20)
    assert sent.result["message_id"]
    assert graph.sent == 1


async def test_the_token_appears_in_no_audit_row_log_or_error(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.DEBUG)
    seen_errors: list[str] = []
    async with fake_graph() as graph, whatsapp_gateway(tmp_path, graph.url) as whatsapp:
        await send(whatsapp, "send_text", TEXT, "ok-1")
        # Graph refuses, quoting the token back; then fails outright, quoting it again.
        graph.fail_next(400, graph_error(100, f"Invalid parameter: Bearer {ACCESS_TOKEN}"))
        graph.fail_next(500, graph_error(1, f"token {ACCESS_TOKEN} broke"))
        for key in ("e1", "e2"):
            request = await approved(whatsapp.gw, execute("send_text", TEXT, key))
            seen = await refused_rpc(
                whatsapp.gw.stub.Execute(request, metadata=AGENT, timeout=20), whatsapp.gw
            )
            seen_errors.append(seen.message + json.dumps(seen.metadata))
        rows = json.dumps(whatsapp.gw.audit_rows(), default=str)
    assert whatsapp.vendor.statuses == [200, 400, 500]
    assert ACCESS_TOKEN not in rows
    assert ACCESS_TOKEN not in caplog.text
    assert all(ACCESS_TOKEN not in error for error in seen_errors)
