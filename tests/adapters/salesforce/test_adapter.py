"""The Salesforce adapter against a fake org on loopback: the requests each operation sends
(checked against the sObject description), what it keeps of the answers, the undo of each
write, the lookup of a lost create, and how Salesforce's errors map to the gateway's."""

from __future__ import annotations

from typing import Any

import pytest

from adapters.salesforce.adapter import SalesforceAdapter
from adapters.salesforce.operations import (
    CreateRecord,
    DeleteRecord,
    GetRecord,
    QueryRecords,
    RestoreRecord,
    UpdateRecord,
    UpsertByExternalId,
)
from gateway.contract import Lookup, VendorContact
from gateway.errors import (
    GatewayError,
    NotCompensable,
    NotConfigured,
    VendorAuthFailed,
    VendorError,
    VendorLookupUnavailable,
    VendorRateLimited,
    VendorRejected,
    VendorUnavailable,
)
from tests.adapters.salesforce.kit import MARKER_FIELDS, Org, check_against_spec
from tests.support.vendor_adapters import attempt

API = "/services/data/v60.0"
MARKER = "4f" * 32


def create(**record: Any) -> CreateRecord:
    return CreateRecord.model_validate({"record": record})


async def new_lead(adapter: SalesforceAdapter, **fields: Any) -> str:
    values = {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd", **fields}
    result = await adapter.execute("create_record", create(**values), attempt(marker=MARKER))
    return str(result["id"])


# --- each operation ------------------------------------------------------------------------


async def test_create_sends_the_fields_and_the_marker_and_keeps_the_id(
    adapter: SalesforceAdapter, org: Org
) -> None:
    contact = VendorContact()
    result = await adapter.execute(
        "create_record",
        create(sobject="Lead", LastName="Doe", Company="Acme Ltd", Email="jane@example.com"),
        attempt(marker=MARKER, contact=contact),
    )
    [sent] = org.requests
    assert (sent.method, sent.path) == ("POST", f"{API}/sobjects/Lead")
    assert sent.json() == {
        "LastName": "Doe",
        "Company": "Acme Ltd",
        "Email": "jane@example.com",
        "Gateway_Key__c": MARKER,
    }
    assert sent.headers["Authorization"].startswith("Bearer 00D")
    assert result == {"sobject": "Lead", "id": result["id"]}
    stored = org.fake.record("Lead", result["id"])
    assert stored is not None
    assert (stored["Company"], stored["Gateway_Key__c"]) == ("Acme Ltd", MARKER)
    assert contact.reported
    assert check_against_spec(org.requests, custom_fields=MARKER_FIELDS.values()) == 1


async def test_create_without_a_marker_field_sends_only_the_fields(
    adapter: SalesforceAdapter, org: Org
) -> None:
    values = {"sobject": "Opportunity", "Name": "Deal", "StageName": "Prospecting"}
    result = await adapter.execute(
        "create_record", create(**values, CloseDate="2025-12-31", Amount=1200.5), attempt()
    )
    assert org.requests[0].json() == {
        "Name": "Deal",
        "StageName": "Prospecting",
        "CloseDate": "2025-12-31",
        "Amount": 1200.5,
    }
    assert result["sobject"] == "Opportunity"
    assert check_against_spec(org.requests) == 1


async def test_get_record_asks_for_the_fields_and_drops_salesforce_attributes(
    adapter: SalesforceAdapter, org: Org
) -> None:
    lead = await new_lead(adapter, Title="CTO")
    read = GetRecord.model_validate(
        {"sobject": "Lead", "record_id": lead, "fields": ["Id", "Title", "Company"]}
    )
    result = await adapter.execute("get_record", read, attempt())
    assert result == {"Id": lead, "Title": "CTO", "Company": "Acme Ltd"}
    assert org.requests[-1].query == {"fields": ["Id,Title,Company"]}
    everything = await adapter.execute(
        "get_record", GetRecord(sobject="Lead", record_id=lead), attempt()
    )
    assert everything["LastName"] == "Doe"
    assert "attributes" not in everything
    assert check_against_spec(org.requests, custom_fields=MARKER_FIELDS.values()) == 3


async def test_update_reads_the_fields_first_and_keeps_their_values(
    adapter: SalesforceAdapter, org: Org
) -> None:
    lead = await new_lead(adapter, Title="CTO")
    contact = VendorContact()
    change = UpdateRecord.model_validate(
        {"record_id": lead, "record": {"sobject": "Lead", "Title": "CEO", "Phone": "+1 555"}}
    )
    result = await adapter.execute("update_record", change, attempt(contact=contact))
    read, write = org.requests[-2:]
    assert (read.method, read.query) == ("GET", {"fields": ["Id,Phone,Title"]})
    assert (write.method, write.path, write.json()) == (
        "PATCH",
        f"{API}/sobjects/Lead/{lead}",
        {"Title": "CEO", "Phone": "+1 555"},
    )
    assert result == {
        "sobject": "Lead",
        "id": lead,
        "previous": {"Title": "CTO", "Phone": None},
    }
    stored = org.fake.record("Lead", lead)
    assert stored is not None
    assert (stored["Title"], stored["Phone"]) == ("CEO", "+1 555")
    assert check_against_spec(org.requests, custom_fields=MARKER_FIELDS.values()) == 3


async def test_a_failed_read_before_an_update_never_reaches_the_write(
    adapter: SalesforceAdapter, org: Org
) -> None:
    lead = await new_lead(adapter)
    org.fake.fail_next(503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}])
    contact = VendorContact()
    change = UpdateRecord.model_validate(
        {"record_id": lead, "record": {"sobject": "Lead", "Title": "CEO"}}
    )
    with pytest.raises(VendorUnavailable) as caught:
        await adapter.execute("update_record", change, attempt(contact=contact))
    assert caught.value.may_have_acted is False
    assert not contact.reported  # the gateway frees the key: nothing was written
    assert [r.method for r in org.requests] == ["POST", "GET"]


async def test_query_compiles_the_filter_and_finds_what_it_says(
    adapter: SalesforceAdapter, org: Org
) -> None:
    account = org.fake.add("Account", Name="Acme Ltd")
    for name, title in (("Doe", "CTO"), ("Roe", "CEO"), ("O'Hara", "CFO")):
        org.fake.add("Contact", LastName=name, Title=title, AccountId=account)
    search = QueryRecords.model_validate(
        {
            "sobject": "Contact",
            "fields": ["Id", "LastName", "Account.Name"],
            "where": [
                {"field": "Title", "op": "!=", "string": "CEO"},
                {"field": "Account.Name", "op": "=", "string": "acme ltd"},
            ],
            "order_by": [{"field": "LastName", "direction": "desc"}],
            "limit": 10,
        }
    )
    result = await adapter.execute("query", search, attempt())
    assert org.requests[-1].query == {
        "q": [
            "SELECT Id, LastName, Account.Name FROM Contact WHERE Title != 'CEO' AND "
            "Account.Name = 'acme ltd' ORDER BY LastName DESC LIMIT 10"
        ]
    }
    assert [(r["LastName"], r["Account"]) for r in result["records"]] == [
        ("O'Hara", {"Name": "Acme Ltd"}),
        ("Doe", {"Name": "Acme Ltd"}),
    ]
    assert (result["sobject"], result["total_size"], result["done"]) == ("Contact", 2, True)


async def test_a_quoted_value_is_only_ever_a_value(adapter: SalesforceAdapter, org: Org) -> None:
    org.fake.add("Contact", LastName="Doe", Email="jane@example.com")
    org.fake.add("Contact", LastName="O'Hara\\", Email="o@example.com")
    attempts = [
        "x' OR LastName != 'x",
        "Doe' OR Email != '",
        "\\' OR LastName != \\'",
        "Doe'\nOR LastName != '",
    ]
    for value in attempts:
        search = QueryRecords.model_validate(
            {
                "sobject": "Contact",
                "fields": ["Id"],
                "where": [{"field": "LastName", "op": "=", "string": value}],
            }
        )
        result = await adapter.execute("query", search, attempt())
        assert result["records"] == [], value
    exact = QueryRecords.model_validate(
        {
            "sobject": "Contact",
            "fields": ["Email"],
            "where": [{"field": "LastName", "op": "=", "string": "O'Hara\\"}],
        }
    )
    found = await adapter.execute("query", exact, attempt())
    assert found["records"] == [{"Email": "o@example.com"}]


async def test_upsert_creates_then_updates_by_the_accounts_external_id_field(
    adapter: SalesforceAdapter, org: Org
) -> None:
    first = UpsertByExternalId.model_validate(
        {"external_id": "C-1001 x", "record": {"sobject": "Contact", "LastName": "Doe"}}
    )
    created = await adapter.execute("upsert_by_external_id", first, attempt())
    path = f"{API}/sobjects/Contact/Customer_Number__c/C-1001 x"
    assert [(r.method, r.path) for r in org.requests] == [("GET", path), ("PATCH", path)]
    assert org.requests[-1].json() == {"LastName": "Doe"}
    assert created == {"sobject": "Contact", "id": created["id"], "created": True}

    second = UpsertByExternalId.model_validate(
        {"external_id": "C-1001 x", "record": {"sobject": "Contact", "Title": "VP"}}
    )
    updated = await adapter.execute("upsert_by_external_id", second, attempt())
    assert updated == {
        "sobject": "Contact",
        "id": created["id"],
        "created": False,
        "previous": {"Title": None},
    }
    stored = org.fake.record("Contact", created["id"])
    assert stored is not None
    assert (stored["Customer_Number__c"], stored["Title"]) == ("C-1001 x", "VP")


async def test_upsert_for_a_type_without_an_external_id_field_is_refused_before_salesforce(
    adapter: SalesforceAdapter, org: Org
) -> None:
    upsert = UpsertByExternalId.model_validate(
        {"external_id": "A-1", "record": {"sobject": "Account", "Name": "Acme"}}
    )
    with pytest.raises(NotConfigured, match="names no external id field for Account"):
        await adapter.execute("upsert_by_external_id", upsert, attempt())
    assert org.requests == []


async def test_upsert_matching_several_records_acted_on_none(
    adapter: SalesforceAdapter, org: Org
) -> None:
    org.fake.add("Contact", LastName="A", Customer_Number__c="dup")
    org.fake.add("Contact", LastName="B", Customer_Number__c="dup")
    upsert = UpsertByExternalId.model_validate(
        {"external_id": "dup", "record": {"sobject": "Contact", "Title": "VP"}}
    )
    with pytest.raises(VendorRejected, match="several records") as caught:
        await adapter.execute("upsert_by_external_id", upsert, attempt())
    assert caught.value.may_have_acted is False
    assert [r.method for r in org.requests] == ["GET"]


async def test_delete_and_restore_records(adapter: SalesforceAdapter, org: Org) -> None:
    lead = await new_lead(adapter, Title="CTO")
    restore = RestoreRecord.model_validate(
        {"sobject": "Lead", "record_id": lead, "values": {"Title": None, "Phone": "+1 555"}}
    )
    restored = await adapter.execute("restore_record", restore, attempt())
    assert restored == {"sobject": "Lead", "id": lead, "restored": ["Phone", "Title"]}
    assert org.requests[-1].json() == {"Title": None, "Phone": "+1 555"}
    deleted = await adapter.execute(
        "delete_record", DeleteRecord(sobject="Lead", record_id=lead), attempt()
    )
    assert deleted == {"sobject": "Lead", "id": lead, "deleted": True}
    assert (org.requests[-1].method, org.requests[-1].path) == (
        "DELETE",
        f"{API}/sobjects/Lead/{lead}",
    )
    assert org.fake.record("Lead", lead) is None


# --- undo ------------------------------------------------------------------------------------


async def test_each_undo_sends_the_request_that_reverses_its_write(
    adapter: SalesforceAdapter, org: Org
) -> None:
    lead = await new_lead(adapter, Title="CTO")
    updated = await adapter.execute(
        "update_record",
        UpdateRecord.model_validate(
            {"record_id": lead, "record": {"sobject": "Lead", "Title": "CEO", "Phone": "1"}}
        ),
        attempt(),
    )
    await adapter.compensate("restore_record", updated, attempt())
    assert (org.requests[-1].method, org.requests[-1].json()) == (
        "PATCH",
        {"Title": "CTO", "Phone": None},  # an empty field is emptied again
    )
    stored = org.fake.record("Lead", lead)
    assert stored is not None
    assert (stored["Title"], stored["Phone"]) == ("CTO", None)

    upsert = UpsertByExternalId.model_validate(
        {"external_id": "K-9", "record": {"sobject": "Lead", "LastName": "Roe", "Company": "X"}}
    )
    made = await adapter.execute("upsert_by_external_id", upsert, attempt())
    await adapter.compensate("restore_record", made, attempt())
    assert (org.requests[-1].method, org.requests[-1].path) == (
        "DELETE",
        f"{API}/sobjects/Lead/{made['id']}",
    )

    await adapter.compensate("delete_record", {"sobject": "Lead", "id": lead}, attempt())
    assert (org.requests[-1].method, org.requests[-1].path) == (
        "DELETE",
        f"{API}/sobjects/Lead/{lead}",
    )
    assert org.fake.records["Lead"] == {}


async def test_an_undo_needs_the_result_of_its_write(adapter: SalesforceAdapter, org: Org) -> None:
    with pytest.raises(NotCompensable):
        await adapter.compensate("delete_record", {"id": "not an id"}, attempt())
    with pytest.raises(NotCompensable):
        await adapter.compensate(
            "restore_record", {"sobject": "Lead", "id": "00Q5g0000000001AAA"}, attempt()
        )
    assert org.requests == []


# --- a lost answer ---------------------------------------------------------------------------


async def test_a_lost_create_is_found_by_its_marker(adapter: SalesforceAdapter, org: Org) -> None:
    lead = await new_lead(adapter)
    found = await adapter.reconcile(
        "create_record",
        create(sobject="Lead", LastName="Doe", Company="Acme Ltd"),
        attempt(marker=MARKER),
    )
    assert found == Lookup(found=True, result={"sobject": "Lead", "id": lead})
    assert (org.requests[-1].method, org.requests[-1].path, org.requests[-1].query) == (
        "GET",
        f"{API}/sobjects/Lead/Gateway_Key__c/{MARKER}",
        {"fields": ["Id"]},
    )
    missing = await adapter.reconcile(
        "create_record",
        create(sobject="Lead", LastName="Doe", Company="Acme Ltd"),
        attempt(marker="0" * 64),
    )
    assert missing == Lookup(found=False)


async def test_what_cannot_be_looked_up_stays_unknown(adapter: SalesforceAdapter, org: Org) -> None:
    account = create(sobject="Account", Name="Acme")
    with pytest.raises(VendorLookupUnavailable, match="names no external id field") as caught:
        await adapter.reconcile("create_record", account, attempt(marker=MARKER))
    assert caught.value.metadata == {"execution_id": "e1", "why": "no_lookup"}
    update = UpdateRecord.model_validate(
        {"record_id": "00Q5g0000000001AAA", "record": {"sobject": "Lead", "Title": "CEO"}}
    )
    with pytest.raises(VendorLookupUnavailable, match="cannot tell whether update_record acted"):
        await adapter.reconcile("update_record", update, attempt(marker=MARKER))
    assert org.requests == []


# --- Salesforce's errors ---------------------------------------------------------------------

ERRORS = [
    (
        400,
        [
            {
                "message": "Required fields are missing: [Company]",
                "errorCode": "REQUIRED_FIELD_MISSING",
            }
        ],
        VendorRejected,
    ),
    (
        404,
        [{"message": "The requested resource does not exist", "errorCode": "NOT_FOUND"}],
        VendorRejected,
    ),
    (
        403,
        [{"message": "TotalRequests Limit exceeded.", "errorCode": "REQUEST_LIMIT_EXCEEDED"}],
        VendorRateLimited,
    ),
    (
        403,
        [{"message": "insufficient access", "errorCode": "INSUFFICIENT_ACCESS"}],
        VendorAuthFailed,
    ),
    (
        500,
        [{"message": "An unexpected error occurred", "errorCode": "UNKNOWN_EXCEPTION"}],
        VendorError,
    ),
    (503, [{"message": "down", "errorCode": "SERVER_UNAVAILABLE"}], VendorUnavailable),
]


@pytest.mark.parametrize(("status", "body", "expected"), ERRORS)
async def test_salesforce_errors_map_to_the_gateways(
    adapter: SalesforceAdapter,
    org: Org,
    status: int,
    body: list[dict[str, str]],
    expected: type[GatewayError],
) -> None:
    org.fake.fail_next(status, body)
    with pytest.raises(GatewayError) as caught:
        await adapter.execute(
            "get_record", GetRecord(sobject="Lead", record_id="00Q5g0000000001"), attempt()
        )
    error = caught.value
    assert type(error) is expected
    assert error.metadata["vendor_status"] == str(status)
    assert error.metadata["vendor_code"] == body[0]["errorCode"]
    assert error.metadata["vendor_message"] == body[0]["message"]
    assert body[0]["message"] not in error.message  # the vendor's words stay in the metadata
    if expected is VendorRateLimited:
        assert error.retry_after_ms == 60_000
