"""WhatsApp without a WhatsApp Business number: on a fresh data directory the gateway runs the
whatsapp connector's real adapter against the in-process Graph sandbox, through approvals and
the customer service window, marked sandbox everywhere; configuring an account takes it to
Graph."""

from __future__ import annotations

import json
from pathlib import Path

import grpc

from adapters.whatsapp.sandbox import NEVER_WROTE
from tests.adapters.whatsapp.fake_graph import ACCESS_TOKEN, PHONE_NUMBER_ID, fake_graph
from tests.integration.approved import approved
from tests.integration.reasons.observe import AGENT, refused_rpc
from tests.integration.sandbox_calls import Connector
from tests.integration.whatsapp_rig import TEXT, execute
from tests.support.documented_errors import documented_reasons
from tests.support.gateway import gateway_settings, running_gateway

[NEVER] = sorted(NEVER_WROTE)
TEMPLATE = {
    "to": NEVER,
    "template": {"name": "order_update", "language": {"code": "en_US"}},
}
SENDS_AS_A = {
    "allow_loosening": True,
    "overrides": {"whatsapp.send_text": "A", "whatsapp.send_template": "A"},
}


async def test_on_a_fresh_data_directory_messages_go_to_the_sandbox_through_approval(
    tmp_path: Path,
) -> None:
    # No configuration at all, but the start-up probe (the first runs as the gateway starts).
    async with running_gateway(gateway_settings(tmp_path, health={"probe_interval_s": 3600})) as gw:
        whatsapp = Connector(gw, "whatsapp")
        assert (await whatsapp.ok()).sandbox
        described = await whatsapp.described()
        assert (described.configured, described.sandbox) == (True, True)

        # send_text asks for an approval, is approved by the operator, and runs once.
        text = await approved(gw, execute("send_text", TEXT, "text-1"))
        sent = await gw.stub.Execute(text, metadata=AGENT, timeout=10)
        again = await gw.stub.Execute(text, metadata=AGENT, timeout=10)
        assert (sent.attempts, sent.replayed, again.replayed) == (1, False, True)
        assert sent.result["message_id"].startswith("wamid.")

        # A recipient who never wrote: the text is refused, a template goes out.
        closed = await approved(gw, execute("send_text", TEXT | {"to": NEVER}, "text-2"))
        seen = await refused_rpc(gw.stub.Execute(closed, metadata=AGENT, timeout=10), gw)
        documented = documented_reasons()["MESSAGING_WINDOW_CLOSED"]
        assert (seen.code, seen.reason) == (documented.code, "MESSAGING_WINDOW_CLOSED")
        assert seen.metadata["vendor_code"] == "131047"
        template = await approved(gw, execute("send_template", TEMPLATE, "template-1"))
        reached = await gw.stub.Execute(template, metadata=AGENT, timeout=10)
        assert reached.result["wa_id"] == NEVER.lstrip("+")

        first, second = await whatsapp.shown()
        assert (first["message_id"], first["type"], first["text"]) == (
            sent.result["message_id"],
            "text",
            TEXT["text"]["body"],
        )
        assert (second["to"], second["type"], second["template"]) == (
            NEVER,
            "template",
            "order_update",
        )
        rows = [r for r in gw.audit_rows() if r["connector_key"] == "whatsapp"]
        assert {json.loads(str(r["detail"])).get("sandbox") for r in rows} == {"true"}
        [failed] = [r for r in rows if r["event_type"] == "message_failed"]
        assert failed["reason"] == "MESSAGING_WINDOW_CLOSED"

        assert (await whatsapp.cli_health())[1:3] == ["ok", "sandbox"]
        lines = await whatsapp.cli_shown()
        assert lines[0] == "the whatsapp sandbox received 2 items, oldest first:"
        assert {f"message_id: {sent.result['message_id']}", "template: order_update"} <= set(lines)


async def test_a_throttled_sandbox_is_retried_through(tmp_path: Path) -> None:
    fail = {"whatsapp": {"status": 429, "at": "POST /v23.0/", "times": 2}}
    settings = gateway_settings(tmp_path, policy=SENDS_AS_A, sandbox={"fail": fail})
    async with running_gateway(settings) as gw:
        whatsapp = Connector(gw, "whatsapp")
        sent = await gw.stub.Execute(execute("send_text", TEXT, "k1"), metadata=AGENT, timeout=10)
        assert sent.attempts == 3  # Graph's 130429 has not sent anything: retried
        assert len(await whatsapp.shown()) == 1


async def test_a_lost_answer_is_an_unknown_outcome_with_the_message_sent(tmp_path: Path) -> None:
    fail = {"whatsapp": {"drop": True, "at": "POST /v23.0/"}}
    settings = gateway_settings(tmp_path, policy=SENDS_AS_A, sandbox={"fail": fail})
    async with running_gateway(settings) as gw:
        whatsapp = Connector(gw, "whatsapp")
        seen = await refused_rpc(
            gw.stub.Execute(execute("send_text", TEXT, "k1"), metadata=AGENT, timeout=10), gw
        )
        assert (seen.code, seen.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        [kept] = await whatsapp.shown()
        assert kept["text"] == TEXT["text"]["body"]


async def test_configuring_an_account_takes_whatsapp_to_graph(tmp_path: Path) -> None:
    async with fake_graph() as graph:
        account = {
            "phone_number_id": PHONE_NUMBER_ID,
            "access_token": ACCESS_TOKEN,
            "base_url": graph.url,
        }
        settings = gateway_settings(
            tmp_path, whatsapp=account, policy=SENDS_AS_A, health={"probe_interval_s": 3600}
        )
        async with running_gateway(settings) as gw:
            whatsapp = Connector(gw, "whatsapp")
            assert "whatsapp" not in gw.gateway.sandboxes.running
            assert not (await whatsapp.ok()).sandbox
            await gw.stub.Execute(execute("send_text", TEXT, "k1"), metadata=AGENT, timeout=10)
            assert graph.sent == 1
            not_sandboxed = await whatsapp.not_sandboxed()
            assert not_sandboxed.reason == "NOT_SANDBOXED"
            rows = [r for r in gw.audit_rows() if r["event_type"] == "message_sent"]
            assert [json.loads(str(r["detail"])).get("sandbox") for r in rows] == [None]
