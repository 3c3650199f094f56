"""What each operation sends to the org, and what it keeps of the answer.

Reads that only prepare a write (the values an update replaces, whether an upsert's record
exists) are sent without the attempt's ``VendorContact``: they cannot act, so a failure
before the write leaves the key free for the agent to send again.
"""

from __future__ import annotations

import re
from collections.abc import Mapping
from typing import Any
from urllib.parse import quote

from gateway.contract import AttemptContext
from gateway.errors import GatewayError, NotConfigured, VendorBadResponse

from .operations import (
    CreateRecord,
    DeleteRecord,
    GetRecord,
    QueryRecords,
    RestoreRecord,
    UpdateRecord,
    UpsertByExternalId,
)
from .records import SALESFORCE_ID_PATTERN, SObjectType
from .rest import Budget, SalesforceRest

_ID = re.compile(SALESFORCE_ID_PATTERN.strip("^$"))


def _without_attributes(value: Any) -> Any:
    """A record as the agent reads it: Salesforce's ``attributes`` (type, URL) dropped, in
    parent records too."""
    if isinstance(value, dict):
        return {k: _without_attributes(v) for k, v in value.items() if k != "attributes"}
    if isinstance(value, list):
        return [_without_attributes(v) for v in value]
    return value


def _object(body: Any, what: str, *, acted: bool) -> dict[str, Any]:
    if not isinstance(body, dict):
        raise VendorBadResponse(
            f"salesforce answered {what} with something other than a JSON object",
            may_have_acted=acted,
        )
    return body


def _record_id(body: Mapping[str, Any], key: str, what: str, *, acted: bool) -> str:
    value = body.get(key)
    if not isinstance(value, str) or not _ID.fullmatch(value):
        raise VendorBadResponse(
            f"salesforce answered {what} without a record id", may_have_acted=acted
        )
    return value


def by_external_id(sobject: str, field: str, value: str) -> str:
    """The path of the record of ``sobject`` whose external id ``field`` holds ``value``."""
    return f"sobjects/{sobject}/{field}/{quote(value, safe='')}"


def external_id_field(fields: Mapping[SObjectType, str], sobject: SObjectType) -> str:
    field = fields.get(sobject)
    if field is None:
        raise NotConfigured(
            f"salesforce: this gateway's account names no external id field for {sobject} "
            "(external_id_fields); an operator must configure one",
            metadata={"connector_key": "salesforce", "sobject": sobject},
        )
    return field


# --- reads --------------------------------------------------------------------------------


async def get_record(rest: SalesforceRest, p: GetRecord, budget: Budget) -> dict[str, Any]:
    params = {"fields": ",".join(p.fields)} if p.fields else None
    response = await rest.request(
        "GET", f"sobjects/{p.sobject}/{p.record_id}", params=params, budget=budget
    )
    record: dict[str, Any] = _without_attributes(
        _object(response.body, "a record read", acted=False)
    )
    return record


async def query(rest: SalesforceRest, p: QueryRecords, budget: Budget) -> dict[str, Any]:
    response = await rest.request("GET", "query", params={"q": p.to_soql()}, budget=budget)
    body = _object(response.body, "a query", acted=False)
    records = body.get("records")
    if not isinstance(records, list):
        raise VendorBadResponse("salesforce answered a query without records")
    return {
        "sobject": p.sobject,
        "total_size": body.get("totalSize", len(records)),
        "done": body.get("done", True),
        "records": _without_attributes(records),
    }


async def _current_values(
    rest: SalesforceRest, path: str, names: list[str], budget: Budget
) -> dict[str, Any]:
    """The record at ``path`` with ``names`` (and Id); nothing is changed."""
    response = await rest.request(
        "GET", path, params={"fields": ",".join(["Id", *names])}, budget=budget
    )
    body = _object(response.body, "a record read", acted=False)
    missing = [n for n in ["Id", *names] if n not in body]
    if missing:
        raise VendorBadResponse(
            f"salesforce answered a record read without {', '.join(missing)}; nothing was changed",
            may_have_acted=False,
        )
    return body


# --- writes -------------------------------------------------------------------------------


async def create_record(
    rest: SalesforceRest,
    p: CreateRecord,
    ctx: AttemptContext,
    budget: Budget,
    marker_field: str | None,
) -> dict[str, Any]:
    sobject = p.record.sobject
    body = p.record.values()
    if marker_field and ctx.marker:
        body[marker_field] = ctx.marker  # what a lookup finds it by if the answer is lost
    response = await rest.request(
        "POST", f"sobjects/{sobject}", json=body, budget=budget, contact=ctx.contact
    )
    answer = _object(response.body, "a create", acted=True)
    return {"sobject": sobject, "id": _record_id(answer, "id", "a create", acted=True)}


async def update_record(
    rest: SalesforceRest, p: UpdateRecord, ctx: AttemptContext, budget: Budget
) -> dict[str, Any]:
    sobject, path = p.record.sobject, f"sobjects/{p.record.sobject}/{p.record_id}"
    values = p.record.values()
    current = await _current_values(rest, path, list(values), budget)
    previous = {name: current[name] for name in values}
    await rest.request("PATCH", path, json=values, budget=budget, contact=ctx.contact)
    return {"sobject": sobject, "id": p.record_id, "previous": previous}


async def upsert_by_external_id(
    rest: SalesforceRest,
    p: UpsertByExternalId,
    ctx: AttemptContext,
    budget: Budget,
    fields: Mapping[SObjectType, str],
) -> dict[str, Any]:
    sobject = p.record.sobject
    path = by_external_id(sobject, external_id_field(fields, sobject), p.external_id)
    values = p.record.values()
    previous: dict[str, Any] | None = None
    existing_id = ""
    try:
        current = await _current_values(rest, path, list(values), budget)
    except GatewayError as error:
        if error.metadata.get("vendor_status") != "404":
            raise
    else:
        existing_id = str(current["Id"])
        previous = {name: current[name] for name in values}
    response = await rest.request("PATCH", path, json=values, budget=budget, contact=ctx.contact)
    answer = response.body if isinstance(response.body, dict) else {}
    created = response.status == 201
    record_id = answer.get("id") or existing_id
    if not isinstance(record_id, str) or not _ID.fullmatch(record_id):
        raise VendorBadResponse(
            f"salesforce answered an upsert with {response.status} but no record id it acted on"
        )
    result: dict[str, Any] = {"sobject": sobject, "id": record_id, "created": created}
    if not created:
        # None only if the record appeared between the read and the write: then what it
        # held before is not known, and the upsert cannot be undone.
        result["previous"] = previous
    return result


async def delete_record(
    rest: SalesforceRest, sobject: str, record_id: str, ctx: AttemptContext, budget: Budget
) -> dict[str, Any]:
    await rest.request(
        "DELETE", f"sobjects/{sobject}/{record_id}", budget=budget, contact=ctx.contact
    )
    return {"sobject": sobject, "id": record_id, "deleted": True}


async def restore_record(
    rest: SalesforceRest,
    sobject: str,
    record_id: str,
    values: Mapping[str, Any],
    ctx: AttemptContext,
    budget: Budget,
) -> dict[str, Any]:
    await rest.request(
        "PATCH",
        f"sobjects/{sobject}/{record_id}",
        json=dict(values),
        budget=budget,
        contact=ctx.contact,
    )
    return {"sobject": sobject, "id": record_id, "restored": sorted(values)}


async def delete(
    rest: SalesforceRest, p: DeleteRecord, ctx: AttemptContext, budget: Budget
) -> dict[str, Any]:
    return await delete_record(rest, p.sobject, p.record_id, ctx, budget)


async def restore(
    rest: SalesforceRest, p: RestoreRecord, ctx: AttemptContext, budget: Budget
) -> dict[str, Any]:
    return await restore_record(rest, p.sobject, p.record_id, p.values, ctx, budget)
