"""Envelopes at a fake eSignature account that keeps them: the marker each one carries, the
lookup of a lost one by that marker, the undo, DocuSign's codes that say more than their
status, and the probe."""

from __future__ import annotations

import datetime

import pytest

from adapters.contract_intel.operations import GetEnvelope, SendEnvelope, VoidEnvelope
from gateway.contract import Lookup
from gateway.errors import (
    GatewayError,
    ShuttingDown,
    UnknownOperation,
    VendorError,
    VendorRateLimited,
    VendorRejected,
)

from .conftest import Build
from .fakes import ACCOUNT_ID
from .support import MARKER, DocuSign, ctx
from .test_sign_in import ENVELOPE, envelope

MISSING = "99999999-9999-4999-8999-999999999999"


async def test_a_sent_envelope_carries_the_marker_in_a_hidden_custom_field(
    docusign: DocuSign, adapter_for: Build
) -> None:
    sent = await adapter_for().execute("send_envelope", envelope(), ctx())

    [(envelope_id, kept)] = docusign.esign.envelopes.items()
    assert sent == {
        "envelope_id": envelope_id,
        "status": "sent",
        "status_date_time": kept["createdDateTime"],
        "uri": f"/envelopes/{envelope_id}",
    }
    assert kept["customFields"] == {
        "textCustomFields": [
            {"name": "gateway_marker", "value": MARKER, "show": "false", "required": "false"}
        ]
    }
    assert kept["status"] == "sent"


async def test_a_lost_envelope_is_found_by_its_marker_and_no_other_is(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for(marker_field="agent_ref")
    sent = await adapter.execute("send_envelope", envelope(), ctx())
    await adapter.execute("send_envelope", envelope(), ctx(marker="cd" * 32))

    found = await adapter.reconcile("send_envelope", envelope(), ctx())
    assert found.found is True
    assert {k: found.result[k] for k in ("envelope_id", "status")} == {
        "envelope_id": sent["envelope_id"],
        "status": "sent",
    }
    missing = await adapter.reconcile("send_envelope", envelope(), ctx(marker="ef" * 32))
    assert missing == Lookup(False)

    # A list that ignores the filter cannot pass another envelope off as the lost one.
    docusign.esign.honour_filter = False
    assert await adapter.reconcile("send_envelope", envelope(), ctx(marker="ef" * 32)) == Lookup(
        False
    )


async def test_the_lookup_asks_for_the_marker_over_the_configured_window(
    docusign: DocuSign, adapter_for: Build
) -> None:
    before = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=7, seconds=5)

    await adapter_for(lookup_window_days=7).reconcile("send_envelope", envelope(), ctx())

    [query] = docusign.esign.list_queries
    assert query["custom_field"] == f"gateway_marker={MARKER}"
    assert query["include"] == "custom_fields"
    since = datetime.datetime.fromisoformat(query["from_date"].replace("Z", "+00:00"))
    assert before <= since <= before + datetime.timedelta(seconds=10)


async def test_undo_voids_the_envelope_with_the_configured_reason(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for(void_reason="Sent by mistake.")
    sent = await adapter.execute("send_envelope", envelope(), ctx())

    undone = await adapter.compensate("void_envelope", sent, ctx())

    assert undone == {"envelope_id": sent["envelope_id"], "status": "voided"}
    kept = docusign.esign.envelopes[str(sent["envelope_id"])]
    assert (kept["status"], kept["voidedReason"]) == ("voided", "Sent by mistake.")
    with pytest.raises(UnknownOperation):
        await adapter.compensate("get_envelope", sent, ctx())


async def test_a_void_whose_answer_was_lost_is_found_by_the_envelopes_status(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    sent = await adapter.execute("send_envelope", envelope(), ctx())
    void = VoidEnvelope(envelopeId=str(sent["envelope_id"]), voidedReason="Sent twice")

    assert await adapter.reconcile("void_envelope", void, ctx()) == Lookup(False)
    await adapter.execute("void_envelope", void, ctx())
    assert await adapter.reconcile("void_envelope", void, ctx()) == Lookup(
        True, {"envelope_id": void.envelopeId, "status": "voided"}
    )
    # DocuSign refuses to void it again; the envelope is voided all the same.
    again = await adapter.execute("void_envelope", void, ctx())
    assert again == {"envelope_id": void.envelopeId, "status": "voided", "already_voided": True}
    assert docusign.esign.envelopes[void.envelopeId]["voidedReason"] == "Sent twice"


async def test_a_void_refused_for_an_envelope_not_voided_is_the_refusal(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    sent = await adapter.execute("send_envelope", envelope(), ctx())
    docusign.esign.envelopes[str(sent["envelope_id"])]["status"] = "completed"
    void = VoidEnvelope(envelopeId=str(sent["envelope_id"]), voidedReason="Too late")

    with pytest.raises(VendorRejected) as caught:
        await adapter.execute("void_envelope", void, ctx())

    assert caught.value.metadata["vendor_code"] == "ENVELOPE_CANNOT_VOID_INVALID_STATE"
    assert docusign.esign.envelopes[void.envelopeId]["status"] == "completed"


async def test_an_unknown_envelope_is_named_as_not_found(
    docusign: DocuSign, adapter_for: Build
) -> None:
    with pytest.raises(VendorRejected) as caught:
        await adapter_for().execute("get_envelope", GetEnvelope(envelopeId=MISSING), ctx())
    assert "no such envelope" in caught.value.message
    assert caught.value.metadata["vendor_code"] == "ENVELOPE_DOES_NOT_EXIST"
    assert caught.value.metadata["vendor_status"] == "404"


async def test_an_api_limit_answered_with_a_400_is_a_rate_limit(
    docusign: DocuSign, adapter_for: Build
) -> None:
    limit = {"errorCode": "HOURLY_APIINVOCATION_LIMIT_EXCEEDED", "message": "Limit."}
    docusign.esign.script.append((400, limit))
    with pytest.raises(VendorRateLimited) as caught:
        await adapter_for().execute("send_envelope", envelope(), ctx())
    assert caught.value.may_have_acted is False
    assert docusign.esign.envelopes == {}


async def test_what_docusign_echoes_keeps_no_credential(
    docusign: DocuSign, adapter_for: Build
) -> None:
    echo = {"errorCode": "INVALID_REQUEST_BODY", "message": "Bearer token-1 is not for this body"}
    docusign.esign.script.append((400, echo))
    with pytest.raises(VendorRejected) as caught:
        await adapter_for().execute("send_envelope", envelope(), ctx())
    shown = caught.value.message + repr(caught.value.metadata)
    assert "token-1" not in shown
    assert docusign.key.pem.splitlines()[1] not in shown


async def test_a_payload_of_another_operation_is_refused_before_docusign(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    with pytest.raises(GatewayError) as caught:
        await adapter.execute("void_envelope", SendEnvelope.model_validate(ENVELOPE), ctx())
    assert caught.value.reason == "INVALID_PAYLOAD"
    with pytest.raises(UnknownOperation):
        await adapter.execute("delete_envelope", envelope(), ctx())
    assert docusign.esign.seen == []


async def test_the_probe_reads_the_account(docusign: DocuSign, adapter_for: Build) -> None:
    adapter = adapter_for()
    ok = await adapter.health_check()
    assert (ok.ok, ok.error) == (True, None)
    assert docusign.esign.seen == [
        ("GET", f"/restapi/v2.1/accounts/{ACCOUNT_ID}", "Bearer token-1")
    ]

    docusign.esign.script.append((500, {"errorCode": "UNSPECIFIED_ERROR", "message": "Db down"}))
    failing = await adapter.health_check()
    assert failing.ok is False
    assert isinstance(failing.error, VendorError)
    assert "Db down" not in failing.detail
    assert failing.detail == "account read failed: VENDOR_ERROR, vendor status 500"


async def test_the_probe_fails_when_the_account_server_cannot_be_reached(
    adapter_for: Build,
) -> None:
    probe = await adapter_for(auth_server="http://127.0.0.1:9").health_check()
    assert probe.ok is False
    assert probe.error is not None
    assert probe.error.reason == "VENDOR_UNAVAILABLE"


async def test_an_account_without_credentials_probes_as_not_configured(
    adapter_for: Build,
) -> None:
    adapter = adapter_for(private_key=None)
    probe = await adapter.health_check()
    assert (adapter.configured, probe.ok) == (False, False)
    assert probe.detail.startswith("not configured")


async def test_after_shutdown_nothing_is_sent_until_initialized_again(
    docusign: DocuSign, adapter_for: Build
) -> None:
    adapter = adapter_for()
    sent = await adapter.execute("send_envelope", envelope(), ctx())
    read = GetEnvelope(envelopeId=str(sent["envelope_id"]))
    await adapter.shutdown()

    with pytest.raises(ShuttingDown):
        await adapter.execute("get_envelope", read, ctx())
    assert len(docusign.esign.seen) == 1

    await adapter.initialize()
    assert (await adapter.execute("get_envelope", read, ctx()))["status"] == "sent"
