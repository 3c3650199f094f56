"""The salesforce connector end to end: Execute over gRPC through the whole chain (class B
writes through a person's approval) to a fake org on loopback, each sObject request it
received checked against the sObject description, each undo sent once however often it is
asked for, and no payload that breaks its model ever reaching Salesforce."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import grpc
import pytest
from google.protobuf import json_format

from connectorgateway.v1 import connector_service_pb2 as pb
from tests.adapters.salesforce.kit import MARKER_FIELDS, check_against_spec
from tests.integration.salesforce_rig import Rig, marker, salesforce_gateway

API = "/services/data/v60.0"


@pytest.fixture
async def rig(tmp_path: Path) -> AsyncIterator[Rig]:
    async with salesforce_gateway(tmp_path) as running:
        yield running


def result(response: pb.ExecuteResponse | pb.CompensateResponse) -> dict[str, Any]:
    return json_format.MessageToDict(response.result)


async def test_the_connector_is_configured_and_describes_its_operations(rig: Rig) -> None:
    described = await rig.gw.stub.DescribeConnector(
        pb.DescribeConnectorRequest(connector_key="salesforce"), timeout=5
    )
    connector = described.connector
    assert (connector.version, connector.registered, connector.configured) == ("1.0.0", True, True)
    assert [(op.name, op.policy_class) for op in connector.operations] == [
        ("create_record", pb.POLICY_CLASS_B),
        ("delete_record", pb.POLICY_CLASS_B),
        ("get_record", pb.POLICY_CLASS_A),
        ("query", pb.POLICY_CLASS_A),
        ("restore_record", pb.POLICY_CLASS_B),
        ("update_record", pb.POLICY_CLASS_B),
        ("upsert_by_external_id", pb.POLICY_CLASS_B),
    ]


async def test_reads_run_at_once(rig: Rig) -> None:
    fake = rig.org.fake
    account = fake.add("Account", Name="Acme Ltd")
    lead = fake.add("Lead", LastName="Doe", Company="Acme Ltd", Email="jane@example.com")
    fake.add("Contact", LastName="Roe", Title="CTO", AccountId=account)
    read = await rig.run("get_record", {"sobject": "Lead", "record_id": lead, "fields": ["Email"]})
    assert result(read) == {"Email": "jane@example.com"}
    found = await rig.run(
        "query",
        {
            "sobject": "Contact",
            "fields": ["LastName", "Account.Name"],
            "where": [{"field": "Title", "op": "=", "string": "CTO"}],
        },
    )
    assert result(found)["records"] == [{"LastName": "Roe", "Account": {"Name": "Acme Ltd"}}]
    read_request, query_request = rig.org.requests
    assert (read_request.path, read_request.query) == (
        f"{API}/sobjects/Lead/{lead}",
        {"fields": ["Email"]},
    )
    assert (query_request.path, query_request.query) == (
        f"{API}/query",
        {"q": ["SELECT LastName, Account.Name FROM Contact WHERE Title = 'CTO' LIMIT 200"]},
    )
    assert check_against_spec(rig.org.requests) == 1
    assert rig.events() == [
        "execution_requested",
        "record_read",
        "execution_requested",
        "records_queried",
    ]


async def test_a_create_runs_once_after_approval_and_is_undone_once(rig: Rig) -> None:
    lead = {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd"}
    approval_id = await rig.ask("create_record", {"record": lead}, "c-1")
    assert rig.org.requests == []  # nothing reaches Salesforce before a person approves
    await rig.approve(approval_id)
    created = await rig.execute("create_record", {"record": lead}, "c-1", approval_id)
    again = await rig.execute("create_record", {"record": lead}, "c-1", approval_id)
    assert (created.replayed, again.replayed) == (False, True)
    record_id = result(created)["id"]
    assert result(created) == result(again) == {"sobject": "Lead", "id": record_id}
    [post] = rig.org.requests
    # The marker is derived from the agent's key, never the key itself.
    assert post.json() == {
        "LastName": "Doe",
        "Company": "Acme Ltd",
        "Gateway_Key__c": marker("create_record", "c-1"),
    }
    assert "c-1" not in post.body.decode()
    assert check_against_spec(rig.org.requests, custom_fields=MARKER_FIELDS.values()) == 1

    undone = await rig.undo(created.execution_id, "u-1")
    assert (undone.compensating_operation, result(undone)) == (
        "delete_record",
        {"sobject": "Lead", "id": record_id, "deleted": True},
    )
    replayed = await rig.compensate_again(created.execution_id, "u-2")
    assert replayed.result == undone.result
    assert rig.org.sent()[1:] == [("DELETE", f"{API}/sobjects/Lead/{record_id}")]
    assert rig.org.fake.record("Lead", record_id) is None
    events = rig.events()
    assert events.count("record_created") == 1
    assert events.count("workflow_compensated") == 1


async def test_an_update_keeps_what_it_replaced_and_its_undo_writes_it_back(rig: Rig) -> None:
    contact = rig.org.fake.add("Contact", LastName="Doe", Title="CTO", Phone="+1 555 0100")
    change = {"record_id": contact, "record": {"sobject": "Contact", "Title": "CEO", "Phone": "0"}}
    updated = await rig.run("update_record", change, "u-1")
    assert result(updated) == {
        "sobject": "Contact",
        "id": contact,
        "previous": {"Title": "CTO", "Phone": "+1 555 0100"},
    }
    assert rig.org.sent() == [
        ("GET", f"{API}/sobjects/Contact/{contact}?fields=Id,Phone,Title"),
        ("PATCH", f"{API}/sobjects/Contact/{contact}"),
    ]
    stored = rig.org.fake.record("Contact", contact)
    assert stored is not None
    assert (stored["Title"], stored["Phone"]) == ("CEO", "0")

    undone = await rig.undo(updated.execution_id, "undo-1")
    await rig.compensate_again(updated.execution_id, "undo-2")
    assert undone.compensating_operation == "restore_record"
    restore = rig.org.requests[2:]
    assert [(r.method, r.path) for r in restore] == [("PATCH", f"{API}/sobjects/Contact/{contact}")]
    assert restore[0].json() == {"Title": "CTO", "Phone": "+1 555 0100"}
    assert (stored["Title"], stored["Phone"]) == ("CTO", "+1 555 0100")
    assert check_against_spec(rig.org.requests) == 3


async def test_an_undo_empties_a_field_that_was_empty(rig: Rig) -> None:
    contact = rig.org.fake.add("Contact", LastName="Doe")
    change = {"record_id": contact, "record": {"sobject": "Contact", "MobilePhone": "+1 555"}}
    updated = await rig.run("update_record", change, "u-1")
    assert result(updated)["previous"] == {"MobilePhone": None}
    await rig.undo(updated.execution_id, "undo-1")
    restore = rig.org.requests[-1]
    # Salesforce empties a field sent as null; the sObject description models no null.
    assert (restore.method, restore.json()) == ("PATCH", {"MobilePhone": None})
    stored = rig.org.fake.record("Contact", contact)
    assert stored is not None
    assert stored["MobilePhone"] is None


async def test_an_upsert_that_created_is_undone_by_deleting(rig: Rig) -> None:
    payload = {"external_id": "C-1001", "record": {"sobject": "Contact", "LastName": "Doe"}}
    upserted = await rig.run("upsert_by_external_id", payload, "up-1")
    record_id = result(upserted)["id"]
    assert result(upserted) == {"sobject": "Contact", "id": record_id, "created": True}
    path = f"{API}/sobjects/Contact/Customer_Number__c/C-1001"
    assert [(r.method, r.path) for r in rig.org.requests] == [("GET", path), ("PATCH", path)]
    assert rig.org.requests[-1].json() == {"LastName": "Doe"}

    undone = await rig.undo(upserted.execution_id, "undo-1")
    await rig.compensate_again(upserted.execution_id, "undo-2")
    assert result(undone) == {"sobject": "Contact", "id": record_id, "deleted": True}
    assert rig.org.sent()[2:] == [("DELETE", f"{API}/sobjects/Contact/{record_id}")]


async def test_an_upsert_that_updated_is_undone_by_writing_back(rig: Rig) -> None:
    record_id = rig.org.fake.add("Contact", LastName="Doe", Customer_Number__c="C-7", Title="CTO")
    payload = {"external_id": "C-7", "record": {"sobject": "Contact", "Title": "VP"}}
    upserted = await rig.run("upsert_by_external_id", payload, "up-1")
    assert result(upserted) == {
        "sobject": "Contact",
        "id": record_id,
        "created": False,
        "previous": {"Title": "CTO"},
    }
    await rig.undo(upserted.execution_id, "undo-1")
    await rig.compensate_again(upserted.execution_id, "undo-2")
    undo = rig.org.requests[2:]
    assert [(r.method, r.path, r.json()) for r in undo] == [
        ("PATCH", f"{API}/sobjects/Contact/{record_id}", {"Title": "CTO"})
    ]
    assert check_against_spec(undo) == 1


async def test_an_upsert_without_its_value_is_refused_and_never_sent(rig: Rig) -> None:
    seen = await rig.refused(
        rig.execute(
            "upsert_by_external_id",
            {"record": {"sobject": "Contact", "LastName": "Doe"}},
            "up-1",
        )
    )
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert [field for field, _ in seen.violations] == ["payload.external_id"]
    assert rig.org.requests == []


BAD_PAYLOADS = [
    ("create_record", {"record": {"sobject": "Lead", "LastName": "Doe"}}),
    ("create_record", {"record": {"sobject": "Lead", "LastName": "Doe", "Company": "A", "X": 1}}),
    ("create_record", {"record": {"sobject": "User", "LastName": "Doe"}}),
    (
        "update_record",
        {"record_id": "00Q' OR Id != '", "record": {"sobject": "Lead", "Title": "A"}},
    ),
    (
        "update_record",
        {"record_id": "00Q5g000001AbCd", "record": {"sobject": "Lead", "Title": None}},
    ),
    (
        "upsert_by_external_id",
        {"external_id": "../Lead", "record": {"sobject": "Lead", "Title": "A"}},
    ),
    ("get_record", {"sobject": "Lead", "record_id": "00Q5g000001AbCd", "fields": ["Id,Email"]}),
    ("query", {"sobject": "Lead", "fields": ["Id FROM Lead WHERE Name != ''"]}),
    ("query", {"sobject": "Lead", "fields": ["Id"], "soql": "SELECT Id FROM Lead"}),
    (
        "query",
        {
            "sobject": "Lead",
            "fields": ["Id"],
            "where": [{"field": "Name", "op": "LIKE", "string": "%"}],
        },
    ),
    ("query", {"sobject": "Lead", "fields": ["Id"], "limit": 500}),
    ("delete_record", {"sobject": "Lead", "record_id": "00Q5g000001AbC"}),
    ("restore_record", {"sobject": "Lead", "record_id": "00Q5g000001AbCd", "values": {"Id": "x"}}),
]


@pytest.mark.parametrize(("operation", "payload"), BAD_PAYLOADS)
async def test_a_payload_that_breaks_the_model_never_reaches_salesforce(
    rig: Rig, operation: str, payload: dict[str, Any]
) -> None:
    seen = await rig.refused(rig.execute(operation, payload, "k-1"))
    assert (seen.code, seen.reason) == (grpc.StatusCode.INVALID_ARGUMENT, "INVALID_PAYLOAD")
    assert seen.violations
    assert rig.org.requests == []
    assert rig.org.fake.token_requests == []
    assert rig.events() == ["request_rejected"]
