"""The ``contract_intel`` connector when the network or DocuSign misbehaves, through the real
gateway at fakes on loopback: an envelope whose answer was lost is found by its marker and
never sent twice, an undo whose answer was lost stays unknown and listed, Navigator's rate
limit, and neither credentials nor contract content leaking anywhere a person can look."""

from __future__ import annotations

import base64
import json
import logging
import sqlite3
from collections.abc import AsyncIterator
from pathlib import Path

import grpc
import pytest

from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.markers import action_marker
from tests.adapters.contract_intel.fakes import AccountServer, ESignature, SigningKey, signing_key
from tests.integration.contract_intel_rig import AGREEMENT_ID, SEND, Rig, docusign_gateway
from tests.support import fault_vendor as fv
from tests.support.fault_vendor import FaultVendor, fault_vendor
from tests.support.rpc import refusal


@pytest.fixture(scope="module")
def key() -> SigningKey:
    return signing_key()


@pytest.fixture
async def esign(key: SigningKey) -> AsyncIterator[ESignature]:
    auth = AccountServer(key.public)
    fake = ESignature(auth)
    async with auth.running(), fake.running():
        yield fake


@pytest.fixture
async def navigator() -> AsyncIterator[FaultVendor]:
    async with fault_vendor() as vendor:
        yield vendor


@pytest.fixture
async def rig(
    tmp_path: Path, key: SigningKey, esign: ESignature, navigator: FaultVendor
) -> AsyncIterator[Rig]:
    async with docusign_gateway(
        tmp_path, key, esignature=esign.url, navigator=navigator.url, auth=esign.auth
    ) as running:
        yield running


async def test_an_envelope_whose_answer_was_lost_is_found_and_never_sent_twice(
    rig: Rig, esign: ESignature
) -> None:
    approval_id = await rig.approval_for("send_envelope", SEND, "nda-lost")
    rig.esignature.drop_after_forwarding()

    lost = await rig.refused("send_envelope", SEND, "nda-lost", approval_id)

    assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    [(envelope_id, _)] = esign.envelopes.items()
    [unknown] = await rig.executions()
    assert unknown.status == epb.EXECUTION_STATUS_UNKNOWN

    found = await rig.execute("send_envelope", SEND, "nda-lost", approval_id)

    assert found.replayed is True
    assert found.execution_id == unknown.execution_id == lost.metadata["execution_id"]
    assert found.result["envelope_id"] == envelope_id
    assert found.result["status"] == "sent"
    assert len(esign.envelopes) == 1  # no second envelope
    post, lookup = rig.esignature.requests
    [marker] = post.json()["customFields"]["textCustomFields"]
    assert (lookup.method, lookup.path) == ("GET", post.path)
    assert lookup.query["custom_field"] == [f"gateway_marker={marker['value']}"]
    assert lookup.query["include"] == ["custom_fields"]
    assert "from_date" in lookup.query
    [settled] = await rig.executions()
    assert settled.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert "execution_reconciled" in [row["event_type"] for row in rig.gw.audit_rows()]

    # The envelope found is the one its undo voids.
    undo_asked = await undo_refusal(rig, found.execution_id, "undo-lost")
    await rig.approve(undo_asked)
    await rig.compensate(found.execution_id, "undo-lost", undo_asked)
    assert esign.envelopes[envelope_id]["status"] == "voided"


@pytest.mark.parametrize("kept", [True, False], ids=["sent", "never made"])
async def test_an_operator_settles_a_lost_envelope_from_docusigns_answer(
    rig: Rig, esign: ESignature, kept: bool
) -> None:
    approval_id = await rig.approval_for("send_envelope", SEND, "nda-ops")
    rig.esignature.drop_after_forwarding()
    lost = await rig.refused("send_envelope", SEND, "nda-ops", approval_id)
    assert lost.reason == "OUTCOME_UNKNOWN"
    [(envelope_id, envelope)] = esign.envelopes.items()
    marker = action_marker("default", "local-agent", "contract_intel", "send_envelope", "nda-ops")
    assert envelope["customFields"]["textCustomFields"][0]["value"] == marker
    if not kept:  # as if DocuSign had never made it
        esign.envelopes.clear()

    answer = await rig.reconcile(lost.metadata["execution_id"])

    assert answer.found is kept
    lookup = rig.esignature.requests[-1]
    assert lookup.query["custom_field"] == [f"gateway_marker={marker}"]
    if kept:
        assert answer.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
        assert answer.execution.result["envelope_id"] == envelope_id
    else:
        assert answer.execution.status == epb.EXECUTION_STATUS_FAILED
    assert len(rig.esignature.matching("POST", "/envelopes")) == 1


async def test_an_undo_whose_answer_was_lost_stays_unknown_and_listed(
    rig: Rig, esign: ESignature
) -> None:
    sent = await rig.approved("send_envelope", SEND, "nda-undo")
    approval_id = await undo_refusal(rig, sent.execution_id, "undo-1")
    await rig.approve(approval_id)
    rig.esignature.drop_after_forwarding()  # DocuSign voids; the answer never comes back

    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rig.compensate(sent.execution_id, "undo-1", approval_id)
    assert refusal(caught.value).reason == "OUTCOME_UNKNOWN"
    with pytest.raises(grpc.aio.AioRpcError) as again:
        await rig.compensate(sent.execution_id, "undo-1", approval_id)

    # An undo's lookup is not given the envelope's id: it stays unknown, for an operator.
    assert refusal(again.value).reason == "OUTCOME_UNKNOWN"
    # One void reached DocuSign: no layer below the gateway sent it again.
    assert len(rig.esignature.matching("PUT", "/envelopes/")) == 1
    kept = esign.envelopes[sent.result["envelope_id"]]
    assert (kept["status"], kept["voidedReason"]) == ("voided", "Withdrawn by the sender.")
    statuses = {e.operation: e.status for e in await rig.executions()}
    assert statuses["void_envelope"] == epb.EXECUTION_STATUS_UNKNOWN


async def test_navigators_rate_limit_is_vendor_rate_limited_with_its_wait(
    rig: Rig, navigator: FaultVendor
) -> None:
    limited = {"error": "Too many requests.", "code": 429, "timestamp": "2025-01-01T12:00:00Z"}
    navigator.script(*[fv.status(429, limited, {"Retry-After": "1"})] * 3)

    seen = await rig.refused("get_agreement", {"agreementId": AGREEMENT_ID})

    assert (seen.code, seen.reason) == (grpc.StatusCode.RESOURCE_EXHAUSTED, "VENDOR_RATE_LIMITED")
    assert seen.metadata["vendor_status"] == "429"
    assert seen.metadata["vendor_code"] == "429"
    assert seen.retry_delay_ms == 1000
    assert len(navigator.requests) == 3  # a read is retried as the policy says


async def test_neither_credentials_nor_contract_content_leak(
    rig: Rig,
    esign: ESignature,
    navigator: FaultVendor,
    key: SigningKey,
    caplog: pytest.LogCaptureFixture,
) -> None:
    caplog.set_level(logging.DEBUG)
    clause = "CLAUSE-7-the-buyer-pays-triple"
    content = base64.b64encode(f"%PDF-1.4 {clause}".encode()).decode()
    document = {**SEND["documents"][0], "documentBase64": content}  # type: ignore[index]
    send = {**SEND, "documents": [document]}
    # DocuSign quoting the document and the token back in its refusals.
    echo = {"errorCode": "INVALID_REQUEST_BODY", "message": f"{content} Bearer token-1 {clause}"}
    esign.script.extend([(400, echo), (500, echo)])
    navigator.script(fv.status(500, {"error": f"{clause} token-1", "code": 500}))
    refusals = []
    for key_ in ("leak-1", "leak-2"):
        approval_id = await rig.approval_for("send_envelope", send, key_)
        refusals.append(await rig.refused("send_envelope", send, key_, approval_id))
    refusals.append(await rig.refused("get_agreement", {"agreementId": AGREEMENT_ID}))
    assert [r.reason for r in refusals] == ["VENDOR_REJECTED", "OUTCOME_UNKNOWN", "VENDOR_ERROR"]

    secrets = [content, clause, "token-1", *key.pem.splitlines()[1:3]]
    seen = [
        *(r.message + json.dumps(r.metadata) + json.dumps(r.trailers) for r in refusals),
        *(record.getMessage() for record in caplog.records),
        *database_texts(rig.gw.gateway.settings.database_path),
        *(json.dumps(dict(span.attributes or {})) for span in rig.gw.spans.get_finished_spans()),
        *(
            event.name + json.dumps(dict(event.attributes or {}))
            for span in rig.gw.spans.get_finished_spans()
            for event in span.events
        ),
    ]
    assert [(s, text[:200]) for text in seen for s in secrets if s in text] == []


async def undo_refusal(rig: Rig, execution_id: str, key: str) -> str:
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await rig.compensate(execution_id, key)
    asked = refusal(caught.value)
    assert asked.reason == "APPROVAL_REQUIRED"
    return asked.metadata["approval_id"]


def database_texts(path: Path) -> list[str]:
    """Every value of every row, but an approval request's payload, which is kept for the
    tenant's operators to review what they approve."""
    texts = []
    with sqlite3.connect(path) as conn:
        conn.row_factory = sqlite3.Row
        tables = [r[0] for r in conn.execute("SELECT name FROM sqlite_master WHERE type='table'")]
        for table in tables:
            for row in conn.execute(f'SELECT * FROM "{table}"'):
                texts += [
                    str(row[column])
                    for column in row.keys()  # noqa: SIM118 - a Row is not a mapping
                    if (table, column) != ("approval_requests", "payload")
                ]
    return texts
