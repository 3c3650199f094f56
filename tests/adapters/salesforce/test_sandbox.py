"""The Salesforce sandbox with the real Salesforce adapter: the JWT bearer grant with each
tenant's own key pair, every operation and undo against the tenant's own records, the lookup
of a lost create by its marker, Salesforce's refusals and error shapes, and each kind of
configured fault."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import AbstractAsyncContextManager
from typing import Any

import aiohttp
import pytest

from adapters.salesforce.account import SalesforceAccount
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
from adapters.salesforce.sandbox import EXTERNAL_ID_FIELD, SalesforceSandbox
from adapters.shared.jwt_grant import GRANT_TYPE, jwt_assertion
from gateway.errors import VendorAuthFailed, VendorRateLimited, VendorRejected
from gateway.sandbox import SandboxFault
from tests.support.vendor_adapters import attempt, failure, serving, tenant_adapters

pytestmark = pytest.mark.timeout(20)

MARKER = "ab" * 32
Build = Callable[[str], Awaitable[SalesforceAdapter]]


def running(fault: SandboxFault | None = None) -> AbstractAsyncContextManager[SalesforceSandbox]:
    return serving(SalesforceSandbox(fault))


def adapters_at(sandbox: SalesforceSandbox) -> AbstractAsyncContextManager[Build]:
    """Builds the real adapter on a tenant's sandbox account; shuts each down at the end."""
    return tenant_adapters(sandbox, lambda account: SalesforceAdapter(account, probe_timeout_s=3.0))


@pytest.fixture
async def sandbox() -> AsyncIterator[SalesforceSandbox]:
    async with running() as started:
        yield started


@pytest.fixture
async def build(sandbox: SalesforceSandbox) -> AsyncIterator[Build]:
    async with adapters_at(sandbox) as builder:
        yield builder


async def run(adapter: SalesforceAdapter, operation: str, payload: Any, marker: str = "") -> Any:
    return dict(await adapter.execute(operation, payload, attempt(marker=marker)))


def create(record: dict[str, Any]) -> CreateRecord:
    return CreateRecord.model_validate({"record": record})


def pem(account: SalesforceAccount) -> str:
    """The private key the sandbox made for the account."""
    assert account.private_key is not None
    return account.private_key.get_secret_value()


def actions(sandbox: SalesforceSandbox, tenant: str = "acme") -> list[tuple[str, str]]:
    return [(entry["action"], entry["sobject"]) for entry in sandbox.received(tenant)]


async def test_every_operation_and_undo_acts_on_the_tenants_records(
    sandbox: SalesforceSandbox, build: Build
) -> None:
    adapter = await build("acme")
    assert (await adapter.health_check()).ok

    account = await run(adapter, "create_record", create({"sobject": "Account", "Name": "Acme"}))
    contact = await run(
        adapter,
        "create_record",
        create(
            {
                "sobject": "Contact",
                "LastName": "Doe",
                "Email": "jane@example.com",
                "AccountId": account["id"],
            }
        ),
        MARKER,
    )
    assert (account["id"][:3], contact["id"][:3], len(contact["id"])) == ("001", "003", 18)

    read = await run(
        adapter,
        "get_record",
        GetRecord(
            sobject="Contact", record_id=contact["id"], fields=["LastName", EXTERNAL_ID_FIELD]
        ),
    )
    assert read == {"LastName": "Doe", EXTERNAL_ID_FIELD: MARKER}  # the marker was written

    updated = await run(
        adapter,
        "update_record",
        UpdateRecord.model_validate(
            {"record_id": contact["id"], "record": {"sobject": "Contact", "Title": "CTO"}}
        ),
    )
    assert updated["previous"] == {"Title": None}

    found = await run(
        adapter,
        "query",
        QueryRecords.model_validate(
            {
                "sobject": "Contact",
                "fields": ["Id", "Title", "Account.Name"],
                "where": [{"field": "Email", "op": "=", "string": "JANE@example.com"}],
            }
        ),
    )
    assert found == {
        "sobject": "Contact",
        "total_size": 1,
        "done": True,
        "records": [{"Id": contact["id"], "Title": "CTO", "Account": {"Name": "Acme"}}],
    }

    # The undo of the update writes back what it replaced.
    await adapter.compensate("restore_record", updated, attempt())
    again = await run(adapter, "get_record", GetRecord(sobject="Contact", record_id=contact["id"]))
    assert again["Title"] is None
    assert again["LastName"] == "Doe"

    # The undo of the create deletes the record: Salesforce says it is deleted.
    await adapter.compensate("delete_record", contact, attempt())
    gone = await failure(
        run(adapter, "get_record", GetRecord(sobject="Contact", record_id=contact["id"]))
    )
    assert (gone.metadata["vendor_status"], gone.metadata["vendor_code"]) == (
        "404",
        "ENTITY_IS_DELETED",
    )
    assert actions(sandbox) == [
        ("create", "Account"),
        ("create", "Contact"),
        ("update", "Contact"),
        ("update", "Contact"),
        ("delete", "Contact"),
    ]
    [first, second, *_] = sandbox.received("acme")
    assert first["fields"] == {"Name": "Acme"}
    assert second["fields"]["Email"] == "jane@example.com"


async def test_upsert_creates_then_updates_and_each_undo_reverses_it(
    sandbox: SalesforceSandbox, build: Build
) -> None:
    adapter = await build("acme")

    def upsert(**fields: Any) -> UpsertByExternalId:
        return UpsertByExternalId.model_validate(
            {"external_id": "C-1001", "record": {"sobject": "Lead", **fields}}
        )

    made = await run(adapter, "upsert_by_external_id", upsert(LastName="Doe", Company="Acme"))
    assert made["created"] is True
    changed = await run(adapter, "upsert_by_external_id", upsert(Title="CEO"))
    assert (changed["id"], changed["created"], changed["previous"]) == (
        made["id"],
        False,
        {"Title": None},
    )
    await adapter.compensate("restore_record", changed, attempt())
    lead = await run(adapter, "get_record", GetRecord(sobject="Lead", record_id=made["id"]))
    assert (lead["Title"], lead[EXTERNAL_ID_FIELD]) == (None, "C-1001")
    await adapter.compensate("restore_record", made, attempt())  # it created: deleted
    [entry] = [e for e in sandbox.received("acme") if e["action"] == "delete"]
    assert entry["id"] == made["id"]

    # A Lead needs LastName and Company, as Salesforce requires: nothing is created.
    refused = await failure(run(adapter, "upsert_by_external_id", upsert(Title="Only")))
    assert isinstance(refused, VendorRejected)
    assert refused.metadata["vendor_code"] == "REQUIRED_FIELD_MISSING"
    assert len(sandbox.received("acme")) == 4


async def test_the_direct_undos_and_what_salesforce_refuses(
    sandbox: SalesforceSandbox, build: Build
) -> None:
    adapter = await build("acme")
    opportunity = await run(
        adapter,
        "create_record",
        create(
            {
                "sobject": "Opportunity",
                "Name": "Renewal",
                "StageName": "Prospecting",
                "CloseDate": "2026-01-31",
                "Amount": 5000.0,
            }
        ),
    )
    restored = await run(
        adapter,
        "restore_record",
        RestoreRecord.model_validate(
            {
                "sobject": "Opportunity",
                "record_id": opportunity["id"],
                "values": {"Amount": 7500.0, "Description": None},
            }
        ),
    )
    assert restored["restored"] == ["Amount", "Description"]
    emptied = await failure(
        run(
            adapter,
            "restore_record",
            RestoreRecord.model_validate(
                {
                    "sobject": "Opportunity",
                    "record_id": opportunity["id"],
                    "values": {"StageName": None},
                }
            ),
        )
    )
    assert emptied.metadata["vendor_code"] == "REQUIRED_FIELD_MISSING"
    dangling = await failure(
        run(
            adapter,
            "create_record",
            create({"sobject": "Contact", "LastName": "Roe", "AccountId": "001000000000001AAA"}),
        )
    )
    assert dangling.metadata["vendor_code"] == "INVALID_CROSS_REFERENCE_KEY"

    query = QueryRecords.model_validate(
        {
            "sobject": "Opportunity",
            "fields": ["Name", "Amount"],
            "where": [{"field": "Amount", "op": ">", "number": 6000.0}],
            "order_by": [{"field": "CloseDate", "direction": "desc"}],
        }
    )
    assert (await run(adapter, "query", query))["records"] == [
        {"Name": "Renewal", "Amount": 7500.0}
    ]
    await run(
        adapter, "delete_record", DeleteRecord(sobject="Opportunity", record_id=opportunity["id"])
    )
    assert (await run(adapter, "query", query))["records"] == []
    assert [e["action"] for e in sandbox.received("acme")] == ["create", "update", "delete"]


async def test_a_lost_create_is_found_by_its_marker_and_a_new_one_is_not(
    sandbox: SalesforceSandbox, build: Build
) -> None:
    adapter = await build("acme")
    lead = create({"sobject": "Lead", "LastName": "Doe", "Company": "Acme"})
    made = await run(adapter, "create_record", lead, MARKER)
    found = await adapter.reconcile("create_record", lead, attempt(marker=MARKER))
    assert (found.found, found.result) == (True, {"sobject": "Lead", "id": made["id"]})
    unseen = await adapter.reconcile("create_record", lead, attempt(marker="cd" * 32))
    assert unseen.found is False
    # The marker is unique, as an External ID field marked Unique is: a second create with
    # it is refused rather than made twice.
    twice = await failure(run(adapter, "create_record", lead, MARKER))
    assert twice.metadata["vendor_code"] == "DUPLICATE_VALUE"


async def test_tenants_have_orgs_and_credentials_of_their_own(
    sandbox: SalesforceSandbox, build: Build
) -> None:
    acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
    assert sandbox.account_for("acme") == acme
    assert acme.consumer_key != globex.consumer_key
    assert pem(acme) != pem(globex)
    assert pem(acme) not in repr(sandbox.account_for("acme"))

    made = await run(
        await build("acme"), "create_record", create({"sobject": "Account", "Name": "Acme"})
    )
    other = await failure(
        run(await build("globex"), "get_record", GetRecord(sobject="Account", record_id=made["id"]))
    )
    assert (other.metadata["vendor_status"], other.metadata["vendor_code"]) == ("404", "NOT_FOUND")
    assert sandbox.received("globex") == []


async def test_the_token_endpoint_checks_the_assertion_with_the_tenants_own_key(
    sandbox: SalesforceSandbox,
) -> None:
    acme, globex = sandbox.account_for("acme"), sandbox.account_for("globex")
    token_url = f"{sandbox.base_url}/services/oauth2/token"

    def assertion(signer: SalesforceAccount, **claims: Any) -> str:
        values = {
            "issuer": acme.consumer_key,
            "subject": acme.username,
            "audience": sandbox.base_url,
            "private_key_pem": pem(signer),
            **claims,
        }
        return jwt_assertion(**values)

    async with aiohttp.ClientSession() as client:

        async def grant(signed: str, grant_type: str = GRANT_TYPE) -> tuple[int, Any]:
            form = {"grant_type": grant_type, "assertion": signed}
            async with client.post(token_url, data=form) as answer:
                return answer.status, await answer.json()

        status, body = await grant(assertion(acme))
        assert status == 200
        assert (body["instance_url"], body["token_type"]) == (sandbox.base_url, "Bearer")
        async with client.get(
            f"{sandbox.base_url}/services/data/v60.0/limits",
            headers={"Authorization": f"Bearer {body['access_token']}"},
        ) as limits:
            assert limits.status == 200
            assert (await limits.json())["DailyApiRequests"]["Max"] == 15000

        refusals = [
            await grant(assertion(globex)),  # acme's consumer key, globex's key
            await grant(assertion(acme, subject=globex.username)),
            await grant(assertion(acme, audience="https://login.salesforce.com")),
            await grant(assertion(acme, lifetime_s=600)),  # Salesforce allows 3 minutes
            await grant(assertion(acme, issuer="3MVG9unknown")),
            await grant(assertion(acme), grant_type="password"),
        ]
        assert [(status, body["error"]) for status, body in refusals] == [
            (400, "invalid_grant"),
            (400, "invalid_grant"),
            (400, "invalid_grant"),
            (400, "invalid_grant"),
            (400, "invalid_client_id"),
            (400, "unsupported_grant_type"),
        ]
        assert refusals[1][1]["error_description"] == "user hasn't approved this consumer"

        async with client.get(
            f"{sandbox.base_url}/services/data/v60.0/sobjects/Lead/00Q000000000001AAA",
            headers={"Authorization": "Bearer 00D000000000001!guessed"},
        ) as unknown:
            assert unknown.status == 401
            assert await unknown.json() == [
                {"message": "Session expired or invalid", "errorCode": "INVALID_SESSION_ID"}
            ]


async def test_salesforce_refuses_what_it_would_refuse_in_its_error_array(
    sandbox: SalesforceSandbox,
) -> None:
    account = sandbox.account_for("acme")
    signed = jwt_assertion(
        issuer=account.consumer_key,
        subject=account.username,
        audience=sandbox.base_url,
        private_key_pem=pem(account),
    )
    async with aiohttp.ClientSession() as client:
        async with client.post(
            f"{sandbox.base_url}/services/oauth2/token",
            data={"grant_type": GRANT_TYPE, "assertion": signed},
        ) as answer:
            token = (await answer.json())["access_token"]
        api = f"{sandbox.base_url}/services/data/v60.0"
        bearer = {"Authorization": f"Bearer {token}"}

        async def sent(method: str, path: str, **kwargs: Any) -> tuple[int, Any]:
            async with client.request(method, api + path, headers=bearer, **kwargs) as got:
                return got.status, await got.json() if got.status != 204 else None

        assert await sent("POST", "/sobjects/Lead", json={"LastName": "Doe"}) == (
            400,
            [
                {
                    "message": "Required fields are missing: [Company]",
                    "errorCode": "REQUIRED_FIELD_MISSING",
                    "fields": ["Company"],
                }
            ],
        )
        status, body = await sent("POST", "/sobjects/Lead", json={"Nickname": "x"})
        assert (status, body[0]["errorCode"]) == (400, "INVALID_FIELD")
        status, body = await sent("POST", "/sobjects/Lead", json={"Id": "00Q000000000001AAA"})
        assert (status, body[0]["errorCode"]) == (400, "INVALID_FIELD_FOR_INSERT_UPDATE")
        status, body = await sent("POST", "/sobjects/Case", json={"Subject": "x"})
        assert (status, body[0]["errorCode"]) == (404, "NOT_FOUND")
        status, body = await sent("GET", "/query", params={"q": "DELETE FROM Lead"})
        assert (status, body[0]["errorCode"]) == (400, "MALFORMED_QUERY")
        status, body = await sent("GET", "/query", params={"q": "SELECT Id FROM Case LIMIT 1"})
        assert (status, body[0]["errorCode"]) == (400, "INVALID_TYPE")
        status, body = await sent("GET", "/sobjects/Lead/Other_Key__c/x")
        assert (status, body[0]["errorCode"]) == (404, "NOT_FOUND")

        # Field names are not case-sensitive; the answer uses the API names.
        status, made = await sent(
            "POST", "/sobjects/lead", json={"lastname": "Doe", "COMPANY": "A"}
        )
        assert status == 201
        assert made["success"] is True
        status, row = await sent(
            "GET", f"/sobjects/Lead/{made['id']}", params={"fields": "company"}
        )
        assert (status, row["Company"], row["attributes"]["type"]) == (200, "A", "Lead")

        # Before API version 46.0, an upsert that updates answers 204 without a body.
        path = f"/sobjects/Lead/{EXTERNAL_ID_FIELD}/K-1"
        first = await sent("PATCH", path, json={"LastName": "Doe", "Company": "A"})
        assert first[0] == 201
        assert first[1]["created"] is True
        assert (await sent("PATCH", path, json={"Title": "CFO"}))[1]["created"] is False
        async with client.patch(
            f"{sandbox.base_url}/services/data/v45.0{path}", headers=bearer, json={"Title": "CIO"}
        ) as old:
            assert (old.status, await old.read()) == (204, b"")


async def test_a_status_fault_answers_in_salesforce_shape_and_acts_on_nothing() -> None:
    fault = SandboxFault(status=503, at="POST /services/data/v60.0/sobjects", times=1)
    async with running(fault) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        lead = create({"sobject": "Lead", "LastName": "Doe", "Company": "Acme"})
        failed = await failure(run(adapter, "create_record", lead))
        assert (failed.reason, failed.metadata["vendor_code"]) == (
            "VENDOR_UNAVAILABLE",
            "SERVER_UNAVAILABLE",
        )
        assert sandbox.received("acme") == []
        await run(adapter, "create_record", lead)  # the fault counted down: it acts
        assert actions(sandbox) == [("create", "Lead")]

    limited = SandboxFault(status=403, at="GET /services/data/v60.0/query")
    async with running(limited) as sandbox, adapters_at(sandbox) as build:
        query = QueryRecords(sobject="Lead", fields=["Id"])
        refused = await failure(run(await build("acme"), "query", query))
        assert isinstance(refused, VendorRateLimited)
        assert refused.metadata["vendor_code"] == "REQUEST_LIMIT_EXCEEDED"


async def test_a_fault_at_the_token_endpoint_answers_oauths_shape() -> None:
    fault = SandboxFault(status=400, at="/services/oauth2/token")
    async with running(fault) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        refused = await failure(
            run(adapter, "get_record", GetRecord(sobject="Lead", record_id="00Q000000000001AAA"))
        )
        assert isinstance(refused, VendorAuthFailed)
        assert (refused.metadata["phase"], refused.metadata["vendor_code"]) == (
            "token",
            "sandbox_fault",
        )
        probe = await adapter.health_check()
        assert probe.ok is False


async def test_a_drop_acts_and_loses_the_answer_then_the_marker_finds_the_record() -> None:
    fault = SandboxFault(drop=True, at="POST /services/data/v60.0/sobjects/Lead", times=1)
    async with running(fault) as sandbox, adapters_at(sandbox) as build:
        adapter = await build("acme")
        lead = create({"sobject": "Lead", "LastName": "Doe", "Company": "Acme"})
        lost = await failure(run(adapter, "create_record", lead, MARKER))
        assert lost.may_have_acted is True
        [kept] = sandbox.received("acme")
        found = await adapter.reconcile("create_record", lead, attempt(marker=MARKER))
        assert (found.found, found.result["id"]) == (True, kept["id"])
