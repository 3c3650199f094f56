"""Contract Intelligence without a DocuSign account: on a fresh data directory and no
configuration, the gateway runs the real contract_intel adapter against its DocuSign sandbox,
marked sandbox; agreements are read at once, an envelope is sent through an operator's
approval, runs once, shows in ``sandbox show`` and is voided by its undo; an envelope whose
answer was lost is found by its marker; configuring an account takes the connector to
DocuSign."""

from __future__ import annotations

import json
import logging
from pathlib import Path

import grpc
import pytest

from tests.adapters.contract_intel.fakes import AccountServer, ESignature, signing_key
from tests.integration.contract_intel_rig import SEND, account_settings
from tests.integration.sandbox_calls import Connector, key_lines, leaked, result
from tests.support.gateway import gateway_settings, running_gateway


async def test_on_no_configuration_contract_intel_acts_at_its_sandbox(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    for logger in ("gateway", "adapters", "aiohttp"):
        caplog.set_level(logging.DEBUG, logger=logger)
    settings = gateway_settings(tmp_path, health={"probe_interval_s": 3600})
    async with running_gateway(settings) as gw:
        docusign = Connector(gw, "contract_intel")
        health = await docusign.ok()  # the start-up probe read the sandbox's account
        assert health.sandbox

        # Reads run at once: the sandbox account's sample agreements.
        listed = result(await docusign.execute("list_agreements", {"limit": 2}))
        assert len(listed["agreements"]) == 2
        assert listed["next_ctoken"]
        chosen = listed["agreements"][0]
        read = result(await docusign.execute("get_agreement", {"agreementId": chosen["id"]}))
        assert read["title"] == chosen["title"]

        # An envelope goes out through an approval, once.
        approval_id = await docusign.approval("send_envelope", SEND, "nda-1")
        sent = await docusign.execute("send_envelope", SEND, "nda-1", approval_id)
        again = await docusign.execute("send_envelope", SEND, "nda-1", approval_id)
        assert (sent.attempts, sent.replayed, again.replayed) == (1, False, True)
        envelope_id = result(sent)["envelope_id"]
        status = await docusign.execute("get_envelope", {"envelopeId": envelope_id})
        assert result(status)["status"] == "sent"

        [kept] = await docusign.shown()
        assert (kept["action"], kept["envelope_id"], kept["signers"]) == (
            "send",
            envelope_id,
            ["Sara Ali <sara@example.com>"],
        )
        lines = await docusign.cli_shown()
        assert lines[0] == "the contract_intel sandbox received 1 item, oldest first:"
        assert {"action: send", f"envelope_id: {envelope_id}", "documents: NDA"} <= set(lines)

        # Its undo voids it at the sandbox.
        await docusign.undo(sent.execution_id, "void-1")
        status = await docusign.execute("get_envelope", {"envelopeId": envelope_id})
        assert result(status)["status"] == "voided"
        assert [entry["action"] for entry in await docusign.shown()] == ["send", "void"]

        rows = [r for r in gw.audit_rows() if r["connector_key"] == "contract_intel"]
        assert {"envelope_sent", "agreements_listed"} <= {r["event_type"] for r in rows}
        assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {"true"}

        # The key the sandbox made for the tenant's account is nowhere to be read.
        account = gw.gateway.sandboxes.running["contract_intel"].account_for("default")
        secrets = key_lines(account.private_key.get_secret_value())
        assert leaked(gw, secrets, caplog.text, *await docusign.cli_shown()) == []


async def test_a_lost_envelope_at_the_sandbox_is_found_by_its_marker(tmp_path: Path) -> None:
    drop = {"drop": True, "at": "POST /restapi/v2.1/accounts/*/envelopes", "times": 1}
    settings = gateway_settings(tmp_path, sandbox={"fail": {"contract_intel": drop}})
    async with running_gateway(settings) as gw:
        docusign = Connector(gw, "contract_intel")
        approval_id = await docusign.approval("send_envelope", SEND, "nda-1")
        lost = await docusign.refused(docusign.execute("send_envelope", SEND, "nda-1", approval_id))
        assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
        [kept] = await docusign.shown()  # the sandbox sent it; the answer was lost

        found = await docusign.execute("send_envelope", SEND, "nda-1", approval_id)
        assert (found.replayed, found.execution_id) == (True, lost.metadata["execution_id"])
        assert result(found)["envelope_id"] == kept["envelope_id"]
        assert len(await docusign.shown()) == 1  # not sent twice


async def test_configuring_an_account_takes_contract_intel_to_docusign(tmp_path: Path) -> None:
    key = signing_key()
    auth = AccountServer(key.public)
    esign = ESignature(auth)
    async with auth.running(), esign.running():
        auth.base_uri = esign.url
        account = account_settings(auth, key, "http://127.0.0.1:9")
        settings = gateway_settings(
            tmp_path, contract_intel=account, health={"probe_interval_s": 3600}
        )
        async with running_gateway(settings) as gw:
            docusign = Connector(gw, "contract_intel")
            assert "contract_intel" not in gw.gateway.sandboxes.running
            health = await docusign.ok()  # DocuSign's account answered the probe
            assert health.sandbox is False
            seen = await docusign.not_sandboxed()
            assert (seen.reason, seen.metadata) == (
                "NOT_SANDBOXED",
                {"connector_key": "contract_intel"},
            )
            approval_id = await docusign.approval("send_envelope", SEND, "nda-1")
            sent = await docusign.execute("send_envelope", SEND, "nda-1", approval_id)
            assert list(esign.envelopes) == [result(sent)["envelope_id"]]
            rows = [r for r in gw.audit_rows() if r["connector_key"] == "contract_intel"]
            assert {json.loads(r["detail"]).get("sandbox") for r in rows} == {None}
