"""Salesforce without an org: on a fresh data directory and no configuration, the gateway runs
the real Salesforce adapter against its sandbox, marked sandbox; a create goes through an
operator's approval, runs once and shows in ``sandbox show``; a create whose answer was lost
is found by its marker; configuring an org takes the connector to it."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import grpc
import pytest
from google.protobuf import json_format

from tests.adapters.salesforce.kit import salesforce_org
from tests.integration.salesforce_rig import account_settings
from tests.integration.sandbox_calls import Connector, key_lines, leaked, result
from tests.support.gateway import gateway_settings, running_gateway

LEAD = {"record": {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd"}}
FIND_LEADS = {
    "sobject": "Lead",
    "fields": ["Id", "LastName", "Company"],
    "where": [{"field": "Company", "op": "=", "string": "Acme Ltd"}],
}


async def test_on_no_configuration_salesforce_acts_at_its_sandbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for logger in ("gateway", "adapters", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=logger)
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings) as gw:
        salesforce = Connector(gw, "salesforce")
        health = await salesforce.ok()  # the start-up probe read the sandbox's limits
        assert health.sandbox
        assert "salesforce" in gw.gateway.sandboxes.running

        # A read runs at once.
        empty = await salesforce.execute("query", FIND_LEADS)
        assert (result(empty)["total_size"], empty.attempts) == (0, 1)

        # A create asks for an approval, is approved, runs once; its key replays it.
        approval_id = await salesforce.approval("create_record", LEAD, "lead-1")
        created = await salesforce.execute("create_record", LEAD, "lead-1", approval_id)
        again = await salesforce.execute("create_record", LEAD, "lead-1", approval_id)
        assert (created.attempts, created.replayed, again.replayed) == (1, False, True)
        lead_id = result(created)["id"]
        found = await salesforce.execute("query", FIND_LEADS)
        assert result(found)["records"] == [
            {"Id": lead_id, "LastName": "Doe", "Company": "Acme Ltd"}
        ]

        [kept] = await salesforce.shown()
        assert (kept["action"], kept["sobject"], kept["id"]) == ("create", "Lead", lead_id)
        assert (kept["fields"]["LastName"], kept["fields"]["Company"]) == ("Doe", "Acme Ltd")
        lines = await salesforce.cli_shown()
        assert lines[0] == "the salesforce sandbox received 1 item, oldest first:"
        assert {"action: create", "sobject: Lead", f"id: {lead_id}"} <= set(lines)

        rows = [r for r in gw.audit_rows() if r["connector_key"] == "salesforce"]
        assert "record_created" in [r["event_type"] for r in rows]
        assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {"true"}

        # The undo deletes the record at the sandbox, through an approval like any write.
        undone = await salesforce.undo(created.execution_id, "undo-1")
        assert json_format.MessageToDict(undone.result)["deleted"] is True
        assert [entry["action"] for entry in await salesforce.shown()] == ["create", "delete"]
        assert result(await salesforce.execute("query", FIND_LEADS))["records"] == []

        # The key the sandbox made for the tenant's account is nowhere to be read.
        account = gw.gateway.sandboxes.running["salesforce"].account_for("default")
        secrets = key_lines(account.private_key.get_secret_value())
        assert leaked(gw, secrets, caplog.text, *await salesforce.cli_shown()) == []


async def test_a_lost_create_at_the_sandbox_is_found_by_its_marker(tmp_path: Path) -> None:
    drop = {"drop": True, "at": "POST /services/data/*/sobjects/Lead", "times": 1}
    settings = gateway_settings(tmp_path, sandbox={"fail": {"salesforce": drop}})
    async with running_gateway(settings) as gw:
        salesforce = Connector(gw, "salesforce")
        approval_id = await salesforce.approval("create_record", LEAD, "lead-1")
        lost = await salesforce.refused(
            salesforce.execute("create_record", LEAD, "lead-1", approval_id)
        )
        assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        [kept] = await salesforce.shown()  # the sandbox acted; the answer was lost

        found = await salesforce.execute("create_record", LEAD, "lead-1", approval_id)
        assert (found.replayed, found.execution_id) == (True, lost.metadata["execution_id"])
        assert result(found) == {"sobject": "Lead", "id": kept["id"]}
        assert len(await salesforce.shown()) == 1  # not made twice


async def test_configuring_an_org_takes_salesforce_to_it(tmp_path: Path) -> None:
    async with salesforce_org() as org:
        settings = gateway_settings(tmp_path, salesforce=account_settings(org))
        async with running_gateway(settings) as gw:
            salesforce = Connector(gw, "salesforce")
            assert "salesforce" not in gw.gateway.sandboxes.running
            assert (await salesforce.health()).sandbox is False
            seen = await salesforce.not_sandboxed()
            assert (seen.reason, seen.metadata) == (
                "NOT_SANDBOXED",
                {"connector_key": "salesforce"},
            )
            await salesforce.execute("query", FIND_LEADS)
            assert [r.method for r in org.requests] == ["GET"]  # the org was asked
            rows = [r for r in gw.audit_rows() if r["connector_key"] == "salesforce"]
            assert rows
            assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {None}
