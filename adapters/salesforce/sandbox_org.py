"""One tenant's org in the Salesforce sandbox: its Account, Contact, Lead and Opportunity
records, and the checks Salesforce makes of what is written to them.

The fields are those the connector writes (``records.py``), the org's external id field
(a unique Text field on every type), and the read-only ``Id``, ``CreatedDate`` and
``LastModifiedDate``; names are matched without regard to case, as Salesforce does. Writes
are refused as Salesforce refuses them: an unknown or read-only field, a required field
missing or emptied, a lookup to no Account, an external id value another record holds. A
deleted record goes to the recycle bin (an Account with its Contacts and Opportunities):
reading it says ``ENTITY_IS_DELETED``, queries and external id lookups no longer find it.
"""

from __future__ import annotations

import datetime
import secrets
import string
from collections.abc import Mapping
from typing import Any

from . import soql_reader
from .records import SOBJECT_TYPES, writable_fields

ID_PREFIXES = {"Account": "001", "Contact": "003", "Lead": "00Q", "Opportunity": "006"}
REQUIRED = {
    "Account": ("Name",),
    "Contact": ("LastName",),
    "Lead": ("LastName", "Company"),
    "Opportunity": ("Name", "StageName", "CloseDate"),
}
READ_ONLY = ("Id", "CreatedDate", "LastModifiedDate")
# A parent reached from a child's lookup field: Contact.Account.Name goes through AccountId.
RELATIONSHIPS = {"Account": ("AccountId", "Account")}
CASCADED = {"Account": ("Contact", "Opportunity")}  # deleted with their Account
MAX_EXTERNAL_ID_CHARS = 255
MAX_RECORDS = 10_000  # per type and tenant, as a small org's storage would allow
_ALNUM = string.ascii_letters + string.digits
_SUFFIX = string.ascii_uppercase + "012345"


class OrgError(Exception):
    """A refusal in Salesforce's terms: HTTP status, ``errorCode``, message, fields."""

    def __init__(
        self, status: int, code: str, message: str, fields: list[str] | None = None
    ) -> None:
        super().__init__(message)
        self.status, self.code, self.message, self.fields = status, code, message, fields


def not_found() -> OrgError:
    return OrgError(404, "NOT_FOUND", "The requested resource does not exist")


def salesforce_id(prefix: str) -> str:
    """An 18-character id: the key prefix, 12 random characters, and the case-safe suffix
    (one character per five, saying which of them are upper case)."""
    short = prefix + "".join(secrets.choice(_ALNUM) for _ in range(15 - len(prefix)))
    suffix = ""
    for start in range(0, 15, 5):
        bits = sum(1 << i for i, ch in enumerate(short[start : start + 5]) if ch.isupper())
        suffix += _SUFFIX[bits]
    return short + suffix


def now_text() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%S.000+0000")


def _is_scalar(value: Any) -> bool:
    return value is None or isinstance(value, str | int | float | bool)


class SandboxOrg:
    """The records of one tenant; ``OrgError`` for what Salesforce would refuse."""

    def __init__(self, external_id_field: str) -> None:
        self.external_id_field = external_id_field
        self.records: dict[str, dict[str, dict[str, Any]]] = {t: {} for t in SOBJECT_TYPES}
        self.deleted: set[str] = set()
        self.api_requests = 0
        self._types: dict[str, str] = {name.lower(): name for name in SOBJECT_TYPES}
        self._fields: dict[str, dict[str, str]] = {
            sobject: {
                name.lower(): name
                for name in (*READ_ONLY, *sorted(writable_fields(sobject)), external_id_field)
            }
            for sobject in SOBJECT_TYPES
        }

    # --- names -------------------------------------------------------------------------------

    def sobject(self, name: str) -> str:
        """The type's API name; 404 for a type the org does not have."""
        found = self._types.get(name.lower())
        if found is None:
            raise not_found()
        return found

    def field(self, sobject: str, name: str) -> str:
        found = self._fields[sobject].get(name.lower())
        if found is None:
            raise OrgError(
                400, "INVALID_FIELD", f"No such column '{name}' on sobject of type {sobject}"
            )
        return found

    def field_names(self, sobject: str) -> list[str]:
        return list(self._fields[sobject].values())

    # --- reads -------------------------------------------------------------------------------

    def row(self, sobject: str, record_id: str) -> dict[str, Any]:
        if record_id in self.deleted:
            raise OrgError(404, "ENTITY_IS_DELETED", "entity is deleted")
        found = self.records[sobject].get(record_id)
        if found is None:
            raise not_found()
        return found

    def view(
        self, sobject: str, row: Mapping[str, Any], names: list[str] | None, version: str
    ) -> dict[str, Any]:
        """The record as the REST API shows it: ``attributes``, then the fields asked for
        (all of them when ``names`` is None)."""
        shown: dict[str, Any] = {"attributes": self._attributes(sobject, row, version)}
        for name in self.field_names(sobject) if names is None else names:
            shown[name] = row.get(name)
        return shown

    def matching(self, sobject: str, field: str, value: str) -> list[dict[str, Any]]:
        """The records whose external id ``field`` holds ``value``; 404 when ``field`` is not
        the type's external id field."""
        if field.lower() != self.external_id_field.lower():
            raise OrgError(
                404,
                "NOT_FOUND",
                f"Provided external ID field does not exist or is not accessible: {field}",
            )
        return [r for r in self.records[sobject].values() if r[self.external_id_field] == value]

    def query(self, text: str, version: str) -> list[dict[str, Any]]:
        try:
            parsed = soql_reader.parse(text)
        except soql_reader.SoqlError as exc:
            raise OrgError(400, "MALFORMED_QUERY", str(exc)) from None
        sobject = self._types.get(parsed.sobject.lower())
        if sobject is None:
            raise OrgError(
                400, "INVALID_TYPE", f"sObject type '{parsed.sobject}' is not supported."
            )
        rows = list(self.records[sobject].values())
        chosen = [
            r for r in rows if all(c.holds(self._value(sobject, r, c.field)) for c in parsed.where)
        ]
        for path, descending in reversed(parsed.order_by):  # a stable sort per key
            keys = {id(r): soql_reader.sort_key(self._value(sobject, r, path)) for r in chosen}
            chosen.sort(key=lambda r: keys[id(r)], reverse=descending)
        return [self._selected(sobject, r, parsed.fields, version) for r in chosen[: parsed.limit]]

    # --- writes ------------------------------------------------------------------------------

    def create(self, sobject: str, values: Mapping[str, Any]) -> str:
        written = self._written(sobject, values)
        if len(self.records[sobject]) >= MAX_RECORDS:
            raise OrgError(
                400, "STORAGE_LIMIT_EXCEEDED", f"storage limit exceeded: {MAX_RECORDS} {sobject}"
            )
        row: dict[str, Any] = dict.fromkeys(self.field_names(sobject))
        row.update(written)
        self._check_required(sobject, row)
        record_id, stamp = salesforce_id(ID_PREFIXES[sobject]), now_text()
        row.update({"Id": record_id, "CreatedDate": stamp, "LastModifiedDate": stamp})
        self.records[sobject][record_id] = row
        return record_id

    def update(self, sobject: str, record_id: str, values: Mapping[str, Any]) -> None:
        row = self.row(sobject, record_id)
        written = self._written(sobject, values, record_id=record_id)
        self._check_required(sobject, {**row, **written})
        row.update(written)
        row["LastModifiedDate"] = now_text()

    def upsert(
        self, sobject: str, field: str, value: str, values: Mapping[str, Any]
    ) -> tuple[str, bool]:
        """(id, created): updates the one record holding ``value``, else creates one."""
        found = self.matching(sobject, field, value)
        if found:
            record_id = str(found[0]["Id"])
            self.update(sobject, record_id, values)
            return record_id, False
        return self.create(sobject, {**values, self.external_id_field: value}), True

    def delete(self, sobject: str, record_id: str) -> list[str]:
        """Moves the record to the recycle bin, with the Contacts and Opportunities of an
        Account, as Salesforce cascades; returns the ids of those children."""
        self.row(sobject, record_id)
        children = [
            child_id
            for child_type in CASCADED.get(sobject, ())
            for child_id, child in self.records[child_type].items()
            if child.get("AccountId") == record_id
        ]
        for gone in (record_id, *children):
            for rows in self.records.values():
                rows.pop(gone, None)
            self.deleted.add(gone)
        return children

    # --- checks ------------------------------------------------------------------------------

    def _written(
        self, sobject: str, values: Mapping[str, Any], *, record_id: str = ""
    ) -> dict[str, Any]:
        """``values`` under their API names, once Salesforce would take them."""
        written: dict[str, Any] = {}
        for name, value in values.items():
            canonical = self.field(sobject, name)
            if canonical in READ_ONLY:
                raise OrgError(
                    400,
                    "INVALID_FIELD_FOR_INSERT_UPDATE",
                    f"Unable to create/update fields: {canonical}. Please check the security "
                    "settings of this field and verify that it is read/write for your profile "
                    "or permission set.",
                    [canonical],
                )
            if not _is_scalar(value):
                raise OrgError(
                    400,
                    "JSON_PARSER_ERROR",
                    f"Cannot deserialize instance of {canonical} from a JSON object or array",
                )
            written[canonical] = value
        self._check_lookup(written)
        self._check_unique(sobject, written, record_id)
        return written

    def _check_lookup(self, written: Mapping[str, Any]) -> None:
        parent = written.get("AccountId")
        if parent is not None and parent not in self.records["Account"]:
            raise OrgError(
                400,
                "INVALID_CROSS_REFERENCE_KEY",
                "invalid cross reference id",
                ["AccountId"],
            )

    def _check_unique(self, sobject: str, written: Mapping[str, Any], record_id: str) -> None:
        field = self.external_id_field
        value = written.get(field)
        if value is None:
            return
        if not isinstance(value, str) or len(value) > MAX_EXTERNAL_ID_CHARS:
            raise OrgError(
                400,
                "STRING_TOO_LONG",
                f"{field}: data value too large (max length={MAX_EXTERNAL_ID_CHARS})",
                [field],
            )
        for other in self.records[sobject].values():
            if other[field] == value and other["Id"] != record_id:
                raise OrgError(
                    400,
                    "DUPLICATE_VALUE",
                    f"duplicate value found: {field} duplicates value on record with id: "
                    f"{other['Id']}",
                    [],
                )

    @staticmethod
    def _check_required(sobject: str, row: Mapping[str, Any]) -> None:
        missing = [name for name in REQUIRED[sobject] if row.get(name) in (None, "")]
        if missing:
            raise OrgError(
                400,
                "REQUIRED_FIELD_MISSING",
                f"Required fields are missing: [{', '.join(missing)}]",
                missing,
            )

    # --- query values ------------------------------------------------------------------------

    def _relation(self, sobject: str, name: str) -> tuple[str, str]:
        """(lookup field, parent type) of the relationship ``name`` (``Account``)."""
        for relation, (lookup, parent) in RELATIONSHIPS.items():
            if relation.lower() == name.lower() and lookup in self._fields[sobject].values():
                return lookup, parent
        raise OrgError(
            400, "INVALID_FIELD", f"Didn't understand relationship '{name}' in field path"
        )

    def _parent(self, sobject: str, row: Mapping[str, Any], path: str) -> tuple[str, str, Any]:
        """(parent type, field, parent row or None) of a path such as ``Account.Name``."""
        relation, _, name = path.partition(".")
        lookup, parent_type = self._relation(sobject, relation)
        if "." in name:
            raise OrgError(
                400, "INVALID_FIELD", f"Didn't understand relationship in field path '{path}'"
            )
        parent = self.records[parent_type].get(row.get(lookup) or "")
        return parent_type, self.field(parent_type, name), parent

    def _value(self, sobject: str, row: Mapping[str, Any], path: str) -> Any:
        if "." not in path:
            return row.get(self.field(sobject, path))
        _, name, parent = self._parent(sobject, row, path)
        return None if parent is None else parent.get(name)

    def _selected(
        self, sobject: str, row: Mapping[str, Any], paths: list[str], version: str
    ) -> dict[str, Any]:
        """A query's record: the selected fields, a parent's under the parent's name (null
        when the lookup is empty)."""
        shown: dict[str, Any] = {"attributes": self._attributes(sobject, row, version)}
        for path in paths:
            if "." not in path:
                shown[self.field(sobject, path)] = row.get(self.field(sobject, path))
                continue
            parent_type, name, parent = self._parent(sobject, row, path)
            if parent is None:
                shown[parent_type] = None
                continue
            nested = shown.get(parent_type) or {
                "attributes": self._attributes(parent_type, parent, version)
            }
            nested[name] = parent.get(name)
            shown[parent_type] = nested
        return shown

    @staticmethod
    def _attributes(sobject: str, row: Mapping[str, Any], version: str) -> dict[str, str]:
        return {"type": sobject, "url": f"/services/data/{version}/sobjects/{sobject}/{row['Id']}"}
