"""The ``contract_intel`` connector end to end: an agent's call through the real gateway to
Prism serving DocuSign's published descriptions (eSignature and Navigator), and back. Each
request DocuSign would receive is checked against the faithful description, unknown fields
refused; class B writes run once after a person's approval, and their undo once."""

from __future__ import annotations

import re
from collections.abc import AsyncIterator
from contextlib import asynccontextmanager
from pathlib import Path
from typing import Any

import grpc
import pytest

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from tests.adapters.contract_intel.fakes import ACCOUNT_ID, SigningKey, signing_key
from tests.integration.contract_intel_rig import (
    AGREEMENT_ID,
    ENVELOPE_ID,
    SEND,
    PrismUrls,
    Rig,
    docusign_gateway,
    docusign_prism,
)
from tests.support.rpc import refusal
from tests.support.waiting import wait_until

__all__ = ["docusign_prism"]  # the fixture, for the tests below

ACCOUNT = f"/restapi/v2.1/accounts/{ACCOUNT_ID}"
AGREEMENTS = f"/v1/accounts/{ACCOUNT_ID}/agreements"


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return signing_key()


@asynccontextmanager
async def prism_gateway(
    tmp_path: Path, key: SigningKey, urls: PrismUrls, **overrides: Any
) -> AsyncIterator[Rig]:
    async with docusign_gateway(
        tmp_path,
        key,
        esignature=urls.esignature,
        navigator=urls.navigator,
        prism=True,
        **overrides,
    ) as running:
        yield running
        running.check_against_the_descriptions()


@pytest.fixture
async def rig(tmp_path: Path, key: SigningKey, docusign_prism: PrismUrls) -> AsyncIterator[Rig]:
    async with prism_gateway(tmp_path, key, docusign_prism) as running:
        yield running


def events(rig: Rig) -> list[str]:
    return [row["event_type"] for row in rig.gw.audit_rows()]


# --- class A reads ---------------------------------------------------------------------------


async def test_get_envelope_reads_the_envelopes_status(rig: Rig) -> None:
    read = await rig.execute("get_envelope", {"envelopeId": ENVELOPE_ID})

    result = dict(read.result)
    assert result["status"] == "sent"
    assert re.fullmatch(r"4b728be4-[x-]+-d63e23f822b6", result["envelope_id"])
    assert set(result) >= {"created_date_time", "sent_date_time", "status_changed_date_time"}
    [request] = rig.esignature.requests
    assert (request.method, request.path) == ("GET", f"{ACCOUNT}/envelopes/{ENVELOPE_ID}")
    assert request.headers["Authorization"] == "Bearer token-1"
    assert "traceparent" in request.headers
    assert events(rig) == ["execution_requested", "envelope_read"]


async def test_list_agreements_reads_a_page_and_the_next_pages_token(rig: Rig) -> None:
    payload = {"limit": 10, "title": "NDA", "status": "active", "ctoken": "abc123"}
    page = await rig.execute("list_agreements", payload)

    result = page.result
    assert len(result["agreements"]) == 49
    first = result["agreements"][0]
    assert first["id"] == AGREEMENT_ID
    assert [p["name_in_agreement"] for p in first["parties"]] == ["ACME, INC", "TALLY, LTD"]
    assert result["next_ctoken"] == "def456"
    [request] = rig.navigator.requests
    assert (request.method, request.path) == ("GET", AGREEMENTS)
    assert request.query == {
        "limit": ["10"],
        "title": ["NDA"],
        "status": ["active"],
        "ctoken": ["abc123"],
    }
    assert request.headers["Authorization"] == "Bearer token-1"
    assert events(rig) == ["execution_requested", "agreements_listed"]


async def test_get_agreement_reads_parties_and_provisions(rig: Rig) -> None:
    read = await rig.execute("get_agreement", {"agreementId": AGREEMENT_ID})

    result = read.result
    assert result["id"]
    assert result["parties"]
    assert "effective_date" in result["provisions"]
    [request] = rig.navigator.requests
    assert (request.method, request.path) == ("GET", f"{AGREEMENTS}/{AGREEMENT_ID}")
    # One sign-in serves eSignature and Navigator alike; the account id is configured.
    assert rig.auth.issued == ["token-1"]
    assert events(rig) == ["execution_requested", "agreement_read"]


# --- class B writes and their undo -----------------------------------------------------------


async def test_send_envelope_runs_once_after_approval_and_its_undo_once(rig: Rig) -> None:
    asked = await rig.refused("send_envelope", SEND, key="nda-1")
    assert asked.reason == "APPROVAL_REQUIRED"
    assert rig.esignature.requests == []
    await rig.approve(asked.metadata["approval_id"])

    sent = await rig.execute("send_envelope", SEND, "nda-1", asked.metadata["approval_id"])
    again = await rig.execute("send_envelope", SEND, "nda-1", asked.metadata["approval_id"])

    assert (sent.replayed, again.replayed) == (False, True)
    assert dict(again.result) == dict(sent.result)
    assert sent.result["status"] == "sent"
    assert re.fullmatch(r"63e05468-[0-9a-fx-]+", sent.result["envelope_id"])
    [post] = rig.esignature.requests
    assert (post.method, post.path) == ("POST", f"{ACCOUNT}/envelopes")
    body = post.json()
    assert body["status"] == "sent"
    assert body["documents"] == SEND["documents"]
    assert body["recipients"]["signers"][0]["tabs"] == {
        "signHereTabs": [
            {
                "anchorString": "/sn1/",
                "anchorUnits": "pixels",
                "anchorXOffset": "0",
                "anchorYOffset": "-10",
            }
        ]
    }
    [marker] = body["customFields"]["textCustomFields"]
    assert marker["name"] == "gateway_marker"
    assert marker["show"] == "false"
    assert re.fullmatch(r"[0-9a-f]{64}", marker["value"])
    assert "nda-1" not in post.body.decode()  # the agent's own key never reaches DocuSign

    # The undo is class B too: asked, approved, run once; a second Compensate replays it.
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rig.compensate(sent.execution_id, "undo-1")
    undo_asked = refusal(caught.value)
    assert undo_asked.reason == "APPROVAL_REQUIRED"
    await rig.approve(undo_asked.metadata["approval_id"])
    undone = await rig.compensate(sent.execution_id, "undo-1", undo_asked.metadata["approval_id"])
    replayed = await rig.compensate(sent.execution_id, "undo-2")

    assert undone.compensating_operation == "void_envelope"
    assert dict(undone.result)["status"] == "voided"
    assert dict(replayed.result) == dict(undone.result)
    puts = rig.esignature.matching("PUT", "/envelopes/")
    assert len(puts) == 1
    assert puts[0].path == f"{ACCOUNT}/envelopes/{sent.result['envelope_id']}"
    assert puts[0].json() == {"status": "voided", "voidedReason": "Withdrawn by the sender."}
    assert "envelope_sent" in events(rig)
    assert events(rig)[-1] == "execution_replayed"


async def test_send_envelope_from_a_server_template(rig: Rig) -> None:
    from_template = {
        "emailSubject": "Please sign the renewal",
        "templateId": "7d0f3b5e-8c6a-4e2b-9f1d-3a5c7e9b1d2f",
        "templateRoles": [{"roleName": "Buyer", "name": "Sara Ali", "email": "s@example.com"}],
    }
    sent = await rig.approved("send_envelope", from_template, key="renewal-1")

    assert sent.result["status"] == "sent"
    [post] = rig.esignature.requests
    body = post.json()
    assert {k: body[k] for k in from_template} == from_template
    assert body["status"] == "sent"
    assert "documents" not in body
    assert body["customFields"]["textCustomFields"][0]["name"] == "gateway_marker"


async def test_void_envelope_runs_after_approval(rig: Rig) -> None:
    void = {"envelopeId": ENVELOPE_ID, "voidedReason": "Sent twice"}
    voided = await rig.approved("void_envelope", void, key="void-1")

    assert dict(voided.result) == {
        "envelope_id": "4b728be4-xxxx-xxxx-xxxx-d63e23f822b6",
        "status": "voided",
    }
    [put] = rig.esignature.requests
    assert (put.method, put.path) == ("PUT", f"{ACCOUNT}/envelopes/{ENVELOPE_ID}")
    assert put.json() == {"status": "voided", "voidedReason": "Sent twice"}
    assert "envelope_voided" in events(rig)


# --- DocuSign's refusals ---------------------------------------------------------------------

ESIGNATURE_REFUSALS = [
    (400, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", "ENVELOPE_DOES_NOT_EXIST"),
    (401, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_AUTH_FAILED", "AUTHORIZATION_INVALID_TOKEN"),
    (404, grpc.StatusCode.FAILED_PRECONDITION, "VENDOR_REJECTED", "UNSPECIFIED_ERROR"),
    (
        429,
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "VENDOR_RATE_LIMITED",
        "HOURLY_APIINVOCATION_LIMIT_EXCEEDED",
    ),
    (500, grpc.StatusCode.UNAVAILABLE, "VENDOR_ERROR", "UNSPECIFIED_ERROR"),
]


@pytest.mark.parametrize(("status", "code", "reason", "vendor_code"), ESIGNATURE_REFUSALS)
async def test_an_esignature_refusal_of_a_read_maps_to_its_reason(
    rig: Rig, status: int, code: grpc.StatusCode, reason: str, vendor_code: str
) -> None:
    rig.prefer(status)

    seen = await rig.refused("get_envelope", {"envelopeId": ENVELOPE_ID})

    assert (seen.code, seen.reason) == (code, reason)
    assert seen.metadata["vendor_status"] == str(status)
    assert seen.metadata["vendor_code"] == vendor_code
    if status in (400, 404):
        assert "no such envelope" in seen.message
    if status == 401:  # one new token, one more try, then the operator's problem
        assert rig.auth.issued == ["token-1", "token-2"]
        assert [r.headers["Authorization"] for r in rig.esignature.requests] == [
            "Bearer token-1",
            "Bearer token-2",
        ]
    elif status == 429:  # a read is retried as the connector's policy says
        assert len(rig.esignature.requests) == 3
    else:
        assert len(rig.esignature.requests) == 1
    assert rig.gw.audit_rows()[-1]["event_type"] == "envelope_read_failed"


@pytest.mark.parametrize(
    ("status", "reason", "listed"),
    [
        (400, "VENDOR_REJECTED", epb.EXECUTION_STATUS_FAILED),
        (401, "VENDOR_AUTH_FAILED", None),
        (429, "VENDOR_RATE_LIMITED", None),
        (500, "OUTCOME_UNKNOWN", epb.EXECUTION_STATUS_UNKNOWN),
    ],
)
async def test_an_esignature_refusal_of_a_send_settles_the_execution_by_what_it_means(
    rig: Rig, status: int, reason: str, listed: int | None
) -> None:
    approval_id = await rig.approval_for("send_envelope", SEND, "nda-2")
    rig.prefer(status)

    seen = await rig.refused("send_envelope", SEND, "nda-2", approval_id)

    assert seen.reason == reason
    posts = rig.esignature.matching("POST", "/envelopes")
    # Sent again only when DocuSign did not act: once with a new token after a 401, as the
    # connector's retry policy says after a 429; never after a 400 or a 500.
    assert len(posts) == {401: 2, 429: 3}.get(status, 1)
    executions = await rig.executions()
    if listed is None:  # DocuSign did not act: the key is free and the approval given back
        assert executions == []
        rig.prefer(None)
        sent = await rig.execute("send_envelope", SEND, "nda-2", approval_id)
        assert sent.result["status"] == "sent"
    else:
        [execution] = executions
        assert execution.status == listed


@pytest.mark.parametrize(
    ("status", "reason"),
    [
        (400, "VENDOR_REJECTED"),
        (401, "VENDOR_AUTH_FAILED"),
        (404, "VENDOR_REJECTED"),
        (500, "VENDOR_ERROR"),
    ],
)
async def test_a_navigator_refusal_maps_to_its_reason(rig: Rig, status: int, reason: str) -> None:
    rig.prefer(status)

    seen = await rig.refused("get_agreement", {"agreementId": AGREEMENT_ID})

    assert seen.reason == reason
    assert seen.metadata["vendor_status"] == str(status)
    if status == 404:
        assert "no such agreement" in seen.message
    assert rig.gw.audit_rows()[-1]["event_type"] == "agreement_read_failed"


# --- what never reaches DocuSign -------------------------------------------------------------

BAD_PAYLOADS: list[tuple[str, dict[str, Any], str]] = [
    ("get_envelope", {"envelopeId": "../accounts"}, "envelopeId"),
    ("get_agreement", {"agreementId": "4b728be4"}, "agreementId"),
    ("list_agreements", {"limit": 0}, "limit"),
    ("list_agreements", {"limit": 2.5}, "limit"),
    ("send_envelope", {**SEND, "emailSubjet": "x"}, "emailSubjet"),
    ("send_envelope", {**SEND, "recipients": {"signers": []}}, "recipients.signers"),
    ("send_envelope", {key: v for key, v in SEND.items() if key != "documents"}, "documents"),
    ("void_envelope", {"envelopeId": ENVELOPE_ID, "voidedReason": ""}, "voidedReason"),
]


@pytest.mark.parametrize(("operation", "payload", "field"), BAD_PAYLOADS)
async def test_a_payload_that_breaks_the_model_never_reaches_docusign(
    rig: Rig, operation: str, payload: dict[str, Any], field: str
) -> None:
    seen = await rig.refused(operation, payload, key="bad-1")

    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert any(field in violation for violation, _ in seen.violations) or field in seen.message
    assert rig.esignature.requests == []
    assert rig.navigator.requests == []
    assert rig.auth.grants == []


# --- the probe -------------------------------------------------------------------------------


async def test_the_probe_reads_the_account_and_the_board_shows_its_failure(
    tmp_path: Path, key: SigningKey, docusign_prism: PrismUrls
) -> None:
    async with prism_gateway(
        tmp_path, key, docusign_prism, health={"probe_interval_s": 0.2}
    ) as rig:
        await probe_ok_then_failing(rig)


async def probe_ok_then_failing(rig: Rig) -> None:
    async def status() -> pb.ConnectorHealth:
        answer = await rig.gw.stub.Health(
            pb.HealthRequest(connector_key="contract_intel"), timeout=5
        )
        return answer.connectors[0]

    async def healthy() -> bool:
        return (await status()).status == pb.CONNECTOR_STATUS_OK

    await wait_until(healthy, timeout_s=30, what="the contract_intel probe passing")
    probe = rig.esignature.requests[0]
    assert (probe.method, probe.path) == ("GET", ACCOUNT)

    rig.prefer(500)

    async def failing() -> str:
        entry = await status()
        return entry.last_error if entry.status == pb.CONNECTOR_STATUS_ERROR else ""

    last_error = await wait_until(failing, timeout_s=30, what="the contract_intel probe failing")
    assert last_error.startswith("PROBE_FAILED")
    assert "VENDOR_ERROR" in last_error
    assert "Unspecified" not in last_error
