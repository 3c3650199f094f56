"""What an agent and an operator see when Salesforce fails: its error answers as the
gateway's documented reasons, a create whose answer was lost settled by a lookup instead of a
second record, the health probe on the board, and no credential anywhere."""

from __future__ import annotations

import logging
from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from tests.adapters.salesforce.fake_org import INVALID_SESSION
from tests.adapters.salesforce.kit import signing_key
from tests.integration.salesforce_rig import OPERATOR, Rig, marker, salesforce_gateway
from tests.integration.test_no_leaks import database_texts, span_texts
from tests.support.waiting import wait_until

API = "/services/data/v60.0"
LEAD = {"record": {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd"}}
WORDS = "Salesforce's own words about jane@example.com"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with salesforce_gateway(tmp_path) as running:
        yield running


def read(record_id: str = "00Q5g0000000001AAA") -> dict[str, Any]:
    return {"sobject": "Lead", "record_id": record_id}


# --- Salesforce's errors as the gateway's reasons ------------------------------------------

CASES = [
    pytest.param(
        "get_record",
        404,
        [{"message": WORDS, "errorCode": "NOT_FOUND"}],
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENDOR_REJECTED",
        1,
        id="404",
    ),
    pytest.param(
        "create_record",
        400,
        [{"message": WORDS, "errorCode": "INVALID_EMAIL_ADDRESS", "fields": ["Email"]}],
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENDOR_REJECTED",
        1,
        id="400",
    ),
    pytest.param(
        "get_record",
        401,
        INVALID_SESSION,
        grpc.StatusCode.FAILED_PRECONDITION,
        "VENDOR_AUTH_FAILED",
        2,  # refused, a new token, refused again
        id="401",
    ),
    pytest.param(
        "get_record",
        403,
        [{"message": WORDS, "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        grpc.StatusCode.RESOURCE_EXHAUSTED,
        "VENDOR_RATE_LIMITED",
        1,  # a minute's wait fits no deadline: back to the agent at once
        id="403-limit",
    ),
    pytest.param(
        "get_record",
        500,
        [{"message": WORDS, "errorCode": "UNKNOWN_EXCEPTION"}],
        grpc.StatusCode.UNAVAILABLE,
        "VENDOR_ERROR",
        1,
        id="500-read",
    ),
    pytest.param(
        "create_record",
        500,
        [{"message": WORDS, "errorCode": "UNKNOWN_EXCEPTION"}],
        grpc.StatusCode.UNKNOWN,
        "OUTCOME_UNKNOWN",
        1,  # it may have acted: never sent again
        id="500-write",
    ),
]


@pytest.mark.parametrize(("operation", "status", "body", "code", "reason", "sent"), CASES)
async def test_salesforce_errors_are_documented_reasons(
    rig: Rig,
    operation: str,
    status: int,
    body: list[dict[str, Any]],
    code: grpc.StatusCode,
    reason: str,
    sent: int,
) -> None:
    rig.org.fake.fail_next(status, body, times=2)
    payload = read() if operation == "get_record" else LEAD
    seen = await rig.refused(rig.run(operation, payload, "k-1"))
    assert (seen.code, seen.reason) == (code, reason), seen
    assert seen.metadata["connector_key"] == "salesforce"
    assert seen.metadata["vendor_status"] == str(status)
    assert seen.metadata["vendor_code"] == body[0]["errorCode"]
    assert WORDS not in str(seen)  # confidential: the vendor's words are redacted
    assert len(rig.org.requests) == sent
    if reason == "VENDOR_RATE_LIMITED":
        assert seen.retry_delay_ms == 60_000
        assert seen.metadata["retries_stopped"] == "deadline"


async def test_a_503_is_retried_and_a_401_answered_with_a_new_token(rig: Rig) -> None:
    rig.org.fake.fail_next(503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}])
    lead = rig.org.fake.add("Lead", LastName="Doe", Company="Acme")
    answered = await rig.run("get_record", read(lead))
    assert answered.attempts == 2
    rig.org.fake.expire_sessions()
    created = await rig.run("create_record", LEAD, "c-1")
    assert created.attempts == 1  # the gateway saw one attempt; the adapter sent it twice
    assert [r.method for r in rig.org.requests] == ["GET", "GET", "POST", "POST"]
    assert rig.org.recorder.statuses[2:] == [401, 201]
    assert len(rig.org.fake.records["Lead"]) == 2


# --- a lost answer -------------------------------------------------------------------------


async def test_a_create_whose_answer_was_lost_is_found_not_made_twice(rig: Rig) -> None:
    approval_id = await rig.ask("create_record", LEAD, "c-1")
    await rig.approve(approval_id)
    rig.org.recorder.drop_after_forwarding()
    lost = await rig.refused(rig.execute("create_record", LEAD, "c-1", approval_id))
    assert (lost.code, lost.reason) == (grpc.StatusCode.UNKNOWN, "OUTCOME_UNKNOWN")
    [made] = rig.org.fake.records["Lead"].values()  # Salesforce acted; the answer was lost

    found = await rig.execute("create_record", LEAD, "c-1", approval_id)
    assert found.replayed
    assert found.execution_id == lost.metadata["execution_id"]
    assert json_format.MessageToDict(found.result) == {"sobject": "Lead", "id": made["Id"]}
    assert len(rig.org.fake.records["Lead"]) == 1
    key = marker("create_record", "c-1")
    assert rig.org.sent() == [
        ("POST", f"{API}/sobjects/Lead"),
        ("GET", f"{API}/sobjects/Lead/Gateway_Key__c/{key}?fields=Id"),
    ]
    assert rig.events()[-1] == "execution_reconciled"

    again = await rig.execute("create_record", LEAD, "c-1", approval_id)
    assert (again.replayed, again.execution_id) == (True, found.execution_id)
    assert len(rig.org.requests) == 2
    # Settled like any success: it can be undone.
    undone = await rig.undo(found.execution_id, "u-1")
    assert json_format.MessageToDict(undone.result)["deleted"] is True
    assert rig.org.fake.records["Lead"] == {}


async def test_a_lost_create_that_salesforce_never_made_runs_again(rig: Rig) -> None:
    approval_id = await rig.ask("create_record", LEAD, "c-1")
    await rig.approve(approval_id)
    rig.org.fake.fail_next(503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}])
    rig.org.recorder.drop_after_forwarding()
    lost = await rig.refused(rig.execute("create_record", LEAD, "c-1", approval_id))
    assert lost.reason == "OUTCOME_UNKNOWN"
    assert rig.org.fake.records["Lead"] == {}

    ran = await rig.execute("create_record", LEAD, "c-1", approval_id)
    assert not ran.replayed
    assert ran.execution_id == lost.metadata["execution_id"]
    assert [(m, p.split("?")[0]) for m, p in rig.org.sent()] == [
        ("POST", f"{API}/sobjects/Lead"),
        ("GET", f"{API}/sobjects/Lead/Gateway_Key__c/{marker('create_record', 'c-1')}"),
        ("POST", f"{API}/sobjects/Lead"),
    ]
    assert len(rig.org.fake.records["Lead"]) == 1


async def test_a_lost_create_without_a_marker_field_stays_unknown_for_operators(
    rig: Rig,
) -> None:
    account = {"record": {"sobject": "Account", "Name": "Acme Ltd"}}
    approval_id = await rig.ask("create_record", account, "a-1")
    await rig.approve(approval_id)
    rig.org.recorder.drop_after_forwarding()
    lost = await rig.refused(rig.execute("create_record", account, "a-1", approval_id))
    assert lost.reason == "OUTCOME_UNKNOWN"
    repeated = await rig.refused(rig.execute("create_record", account, "a-1", approval_id))
    assert (repeated.reason, repeated.metadata["replayed"]) == ("OUTCOME_UNKNOWN", "true")
    assert [r.method for r in rig.org.requests] == ["POST"]  # no lookup, no second create
    assert rig.org.requests[0].json() == {"Name": "Acme Ltd"}
    listed = await epb_grpc.ExecutionServiceStub(rig.gw.channel).ListExecutions(
        epb.ListExecutionsRequest(status=epb.EXECUTION_STATUS_UNKNOWN),
        metadata=OPERATOR,
        timeout=5,
    )
    assert [(e.execution_id, e.operation) for e in listed.executions] == [
        (lost.metadata["execution_id"], "create_record")
    ]


async def test_an_operator_settles_a_lost_create_from_salesforces_answer(rig: Rig) -> None:
    executions = epb_grpc.ExecutionServiceStub(rig.gw.channel)
    approval_id = await rig.ask("create_record", LEAD, "c-1")
    await rig.approve(approval_id)
    rig.org.recorder.drop_after_forwarding()
    lost = await rig.refused(rig.execute("create_record", LEAD, "c-1", approval_id))
    [made] = rig.org.fake.records["Lead"].values()
    answer = await executions.ReconcileExecution(
        epb.ReconcileExecutionRequest(execution_id=lost.metadata["execution_id"]),
        metadata=OPERATOR,
        timeout=5,
    )
    assert answer.found
    assert answer.execution.status == epb.EXECUTION_STATUS_SUCCEEDED
    assert json_format.MessageToDict(answer.execution.result) == {
        "sobject": "Lead",
        "id": made["Id"],
    }
    assert rig.org.sent()[-1] == (
        "GET",
        f"{API}/sobjects/Lead/Gateway_Key__c/{marker('create_record', 'c-1')}?fields=Id",
    )
    assert len(rig.org.fake.records["Lead"]) == 1


async def test_an_operator_is_told_a_lost_update_cannot_be_looked_up(rig: Rig) -> None:
    contact = rig.org.fake.add("Contact", LastName="Doe")
    change = {"record_id": contact, "record": {"sobject": "Contact", "Title": "CEO"}}
    approval_id = await rig.ask("update_record", change, "u-1")
    await rig.approve(approval_id)
    rig.org.fake.fail_next(
        500, [{"message": "x", "errorCode": "UNKNOWN_EXCEPTION"}], method="PATCH"
    )
    lost = await rig.refused(rig.execute("update_record", change, "u-1", approval_id))
    assert lost.reason == "OUTCOME_UNKNOWN"
    refused = await rig.refused(
        epb_grpc.ExecutionServiceStub(rig.gw.channel).ReconcileExecution(
            epb.ReconcileExecutionRequest(execution_id=lost.metadata["execution_id"]),
            metadata=OPERATOR,
            timeout=5,
        )
    )
    assert refused.reason == "VENDOR_LOOKUP_UNAVAILABLE"
    assert refused.metadata["execution_id"] == lost.metadata["execution_id"]
    assert [r.method for r in rig.org.requests] == ["GET", "PATCH"]  # nothing asked or sent


# --- the probe on the board ----------------------------------------------------------------


async def test_the_probe_shows_on_the_board(tmp_path: Path) -> None:
    async with salesforce_gateway(tmp_path, health={"probe_interval_s": 0.05}) as rig:

        async def board() -> pb.ConnectorHealth:
            answer = await rig.gw.stub.Health(
                pb.HealthRequest(connector_key="salesforce"), timeout=5
            )
            return answer.connectors[0]

        async def healthy() -> bool:
            return (await board()).status == pb.CONNECTOR_STATUS_OK

        await wait_until(healthy, what="the salesforce probe passing")
        assert {r.path for r in rig.org.requests} == {f"{API}/limits"}

        rig.org.fake.refuse_grant = (400, {"error": "invalid_grant", "error_description": WORDS})
        rig.org.fake.expire_sessions()

        async def failing() -> str:
            entry = await board()
            return entry.last_error if entry.status == pb.CONNECTOR_STATUS_ERROR else ""

        last_error = await wait_until(failing, what="the salesforce probe failing")
        assert last_error == (
            "PROBE_FAILED: VENDOR_AUTH_FAILED (phase token, vendor status 400, "
            "vendor code invalid_grant)"
        )


# --- credentials ---------------------------------------------------------------------------


async def test_no_credential_in_any_answer_row_span_or_log(
    rig: Rig, caplog: pytest.LogCaptureFixture
) -> None:
    for name in ("gateway", "adapters"):
        caplog.set_level(logging.DEBUG, logger=name)
    fake = rig.org.fake
    texts: list[str] = []
    lead = fake.add("Lead", LastName="Doe", Company="Acme")
    await rig.run("get_record", read(lead))
    fake.fail_next(401, INVALID_SESSION, times=2)
    texts.append(str(await rig.refused(rig.run("get_record", read(lead)))))
    fake.fail_next(500, [{"message": "x", "errorCode": "UNKNOWN_EXCEPTION"}])
    texts.append(str(await rig.refused(rig.run("create_record", LEAD, "c-1"))))
    fake.expire_sessions()
    fake.refuse_grant = (400, {"error": "invalid_grant", "error_description": "no"})
    texts.append(str(await rig.refused(rig.run("get_record", read(lead)))))
    texts += database_texts(rig.gw.gateway.settings.database_path)
    texts += span_texts(rig.gw)
    texts.append(caplog.text)
    secrets = [
        *(line for line in signing_key().private_pem.splitlines() if "-----" not in line),
        *(request.assertion for request in fake.token_requests),
        *fake.issued,
    ]
    assert len(fake.issued) == 2
    leaked = [(secret[:12], text[:200]) for text in texts for secret in secrets if secret in text]
    assert leaked == []
