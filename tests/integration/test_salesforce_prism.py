"""The sObject happy paths against Prism serving the sObject description: Prism validates
each request it receives against the description (a body it refuses is a 400) and answers
with the description's examples. The token still comes from the fake org's login host,
which names the recorder in front of Prism as the instance URL."""

from __future__ import annotations

from collections.abc import AsyncIterator
from pathlib import Path
from typing import Any

import pytest
from google.protobuf import json_format

from tests.adapters.salesforce.kit import SPEC, check_against_spec, salesforce_org
from tests.integration.salesforce_rig import Rig, account_settings
from tests.support.gateway import gateway_settings, running_gateway
from tests.support.prism import PrismServers

API = "/services/data/v60.0"
# The ids of the description's examples.
EXAMPLE_IDS = {
    "Lead": "00Q5g000001AbCdAAA",
    "Contact": "0035g000001AbCdAAA",
    "Opportunity": "0065g000001AbCdAAA",
}


@pytest.fixture
async def rig(tmp_path: Path, prism: PrismServers) -> AsyncIterator[Rig]:
    async with salesforce_org(instance=prism.url(SPEC)) as org:
        # No marker field: the description models only standard fields.
        account = account_settings(org, external_id_fields={})
        settings = gateway_settings(tmp_path, salesforce=account)
        async with running_gateway(settings) as gw:
            yield Rig(gw, org)


def result(response: Any) -> dict[str, Any]:
    return dict(json_format.MessageToDict(response.result))


RECORDS = [
    {"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd", "Email": "jane@example.com"},
    {"sobject": "Contact", "LastName": "Doe", "AccountId": "0015g000001AbCdAAA"},
    {
        "sobject": "Opportunity",
        "Name": "Acme renewal",
        "StageName": "Prospecting",
        "CloseDate": "2025-12-31",
        "Amount": 12000.5,
    },
]


@pytest.mark.parametrize("record", RECORDS, ids=lambda r: r["sobject"])
async def test_create_read_update_and_undo_the_update(rig: Rig, record: dict[str, Any]) -> None:
    sobject = record["sobject"]
    created = await rig.run("create_record", {"record": record}, "c-1")
    assert result(created) == {"sobject": sobject, "id": EXAMPLE_IDS[sobject]}

    record_id = EXAMPLE_IDS[sobject]
    read = await rig.run("get_record", {"sobject": sobject, "record_id": record_id})
    assert result(read)["Id"] == record_id

    change = {"record_id": record_id, "record": {"sobject": sobject, "LeadSource": "Partner"}}
    updated = await rig.run("update_record", change, "u-1")
    assert result(updated)["previous"] == {"LeadSource": "Web"}  # the example's value
    undone = await rig.undo(updated.execution_id, "undo-1")
    assert undone.compensating_operation == "restore_record"

    requests = rig.org.requests
    assert [(r.method, r.path) for r in requests] == [
        ("POST", f"{API}/sobjects/{sobject}"),
        ("GET", f"{API}/sobjects/{sobject}/{record_id}"),
        ("GET", f"{API}/sobjects/{sobject}/{record_id}"),
        ("PATCH", f"{API}/sobjects/{sobject}/{record_id}"),
        ("PATCH", f"{API}/sobjects/{sobject}/{record_id}"),
    ]
    assert rig.org.recorder.statuses == [201, 200, 200, 204, 204]
    assert requests[-1].json() == {"LeadSource": "Web"}
    assert check_against_spec(requests) == 5
