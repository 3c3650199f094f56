"""Salesforce CRM (REST API sObject rows): payload and result models.

Record fields are in ``records.py``. Reads are by id (``get_record``) or by a structured
filter compiled to SOQL (``query``; raw SOQL is never accepted). Writes are create, update and
upsert by the external id field the account names for the object; each can be undone:
``delete_record`` deletes a record the gateway created, ``restore_record`` writes back the
values read before an update (or deletes what an upsert created).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self
from urllib.parse import quote

from pydantic import BeforeValidator, ConfigDict, Field, StrictBool, StrictFloat, model_validator

from adapters.shared.payloads import HeaderText, IsoDate, PayloadModel, VendorResult, integral

from . import soql
from .records import (
    FieldName,
    NewRecord,
    RecordFields,
    SalesforceId,
    SObjectType,
    has_fields,
    without_null,
    writable_fields,
)
from .soql import Operator

MAX_QUERY_LIMIT = 200
# The longest query string the gateway sends (URL-encoded); Salesforce refuses longer URLs.
MAX_QUERY_URL_CHARS = 10_000

FieldPath = Annotated[str, Field(pattern=soql.FIELD_PATH_PATTERN, max_length=255)]
# Text compared in a filter: tab, CR and LF are escaped; other control characters have no
# escape in SOQL and are refused.
FilterText = Annotated[
    str, Field(max_length=255, pattern=r"^[^\x00-\x08\x0b\x0c\x0e-\x1f\x7f-\x9f]*$")
]
FilterNumber = Annotated[StrictFloat, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
UtcSecond = Annotated[
    str,
    Field(
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}T[0-9]{2}:[0-9]{2}:[0-9]{2}Z$",
        examples=["2025-09-05T09:00:00Z"],
    ),
]
QueryLimit = Annotated[int, Field(strict=True, ge=1, le=MAX_QUERY_LIMIT), BeforeValidator(integral)]


def _external_id_value(value: str) -> str:
    # The value becomes one segment of the URL path: a slash would split it, and a dot
    # segment would be resolved away, naming another resource.
    if "/" in value or value in {".", ".."}:
        raise ValueError("must not contain '/' nor be '.' or '..'")
    return value


ExternalIdValue = Annotated[
    HeaderText, Field(min_length=1, max_length=255), BeforeValidator(_external_id_value)
]


# --- reads --------------------------------------------------------------------------------


class GetRecord(PayloadModel):
    """Read one record."""

    sobject: SObjectType = Field(description="The record's sObject type.")
    record_id: SalesforceId = Field(
        description="The record's 15- or 18-character id.", examples=["00Q5g000001AbCdAAA"]
    )
    fields: list[FieldName] | None = Field(
        default=None,
        min_length=1,
        max_length=100,
        description="API names of the fields to return; omit for all fields.",
        examples=[["Id", "LastName", "Email"]],
    )


class Condition(PayloadModel):
    """One comparison of a field with a typed value; give exactly one value."""

    model_config = ConfigDict(json_schema_extra=without_null)

    field: FieldPath = Field(
        description="The field's API name, or a parent's field (Account.Name).",
        examples=["Email"],
    )
    op: Operator = Field(description="The comparison: =, !=, <, <=, > or >=.")
    string: FilterText | None = Field(default=None, description="Compare with this text.")
    number: FilterNumber | None = Field(default=None, description="Compare with this number.")
    boolean: StrictBool | None = Field(
        default=None, description="Compare with true or false (only = and !=)."
    )
    date: IsoDate | None = Field(default=None, description="Compare with this date (a Date field).")
    datetime: UtcSecond | None = Field(
        default=None, description="Compare with this UTC instant (a Date/Time field)."
    )

    @model_validator(mode="after")
    def _one_value(self) -> Self:
        given = [k for k in ("string", "number", "boolean", "date", "datetime") if k in self.given]
        if len(given) != 1:
            raise ValueError(
                "give exactly one of string, number, boolean, date or datetime"
                + (f" (got {', '.join(given)})" if given else "")
            )
        if self.boolean is not None and self.op not in ("=", "!="):
            raise ValueError("a boolean is compared with = or != only")
        return self

    @property
    def given(self) -> set[str]:
        return {k for k in self.model_fields_set if getattr(self, k) is not None}

    def to_soql(self) -> str:
        literal: str
        if self.string is not None:
            literal = soql.string(self.string)
        elif self.number is not None:
            literal = soql.number(self.number)
        elif self.boolean is not None:
            literal = soql.boolean(self.boolean)
        elif self.date is not None:
            literal = soql.date(self.date)
        else:
            literal = soql.date_time(self.datetime or "")
        return soql.comparison(self.field, self.op, literal)


class Order(PayloadModel):
    """One sort key."""

    field: FieldPath = Field(description="The field to sort by.", examples=["CreatedDate"])
    direction: Literal["asc", "desc"] = Field(
        default="asc", description="asc (the default) or desc."
    )


class QueryRecords(PayloadModel):
    """Find records of one type by a structured filter; the gateway writes the SOQL."""

    sobject: SObjectType = Field(description="The sObject type to search.")
    fields: list[FieldPath] = Field(
        min_length=1,
        max_length=50,
        description="API names of the fields to return (Id is not added for you).",
        examples=[["Id", "LastName", "Email"]],
    )
    where: list[Condition] = Field(
        default_factory=list,
        max_length=20,
        description="Conditions that must all hold; omit for every record.",
        examples=[[{"field": "Email", "op": "=", "string": "jane@example.com"}]],
    )
    order_by: list[Order] = Field(
        default_factory=list, max_length=3, description="Sort keys, most significant first."
    )
    limit: QueryLimit = Field(
        default=MAX_QUERY_LIMIT,
        description=f"At most this many records, 1 to {MAX_QUERY_LIMIT} (the default).",
    )

    @model_validator(mode="after")
    def _compiles(self) -> Self:
        seen: set[str] = set()
        for name in self.fields:
            if name.lower() in seen:  # API names are case-insensitive
                raise ValueError(f"field {name!r} is listed twice")
            seen.add(name.lower())
        size = len(quote(self.to_soql(), safe=""))
        if size > MAX_QUERY_URL_CHARS:
            raise ValueError(
                f"the query is {size} characters once encoded, over the "
                f"{MAX_QUERY_URL_CHARS} a URL may carry: ask for fewer fields or conditions"
            )
        return self

    def to_soql(self) -> str:
        return soql.select(
            self.sobject,
            self.fields,
            where=[c.to_soql() for c in self.where],
            order_by=[(o.field, o.direction == "desc") for o in self.order_by],
            limit=self.limit,
        )


# --- writes -------------------------------------------------------------------------------


class CreateRecord(PayloadModel):
    """Create one Account, Contact, Lead or Opportunity."""

    record: NewRecord = Field(
        description='The new record: "sobject" names its type, the other keys are its fields.',
        examples=[{"sobject": "Lead", "LastName": "Doe", "Company": "Acme Ltd"}],
    )


class UpdateRecord(PayloadModel):
    """Change fields of an existing record."""

    record_id: SalesforceId = Field(
        description="The record's 15- or 18-character id.", examples=["00Q5g000001AbCdAAA"]
    )
    record: RecordFields = Field(
        description='"sobject" names the record\'s type; the other keys are the fields to change.',
        examples=[{"sobject": "Contact", "Title": "CTO"}],
    )

    @model_validator(mode="after")
    def _changes_something(self) -> Self:
        if not has_fields(self.record):
            raise ValueError("record must set at least one field besides sobject")
        return self


class UpsertByExternalId(PayloadModel):
    """Create or update the record whose external id field (named by the gateway's account
    settings for the type) has the given value."""

    external_id: ExternalIdValue = Field(
        description=(
            "The value of the type's external id field that identifies the record; no '/'."
        ),
        examples=["C-1001"],
    )
    record: RecordFields = Field(
        description=(
            '"sobject" names the type; the other keys are the fields to write. When no record '
            "matches, one is created, and the type's required fields must then be present."
        ),
        examples=[{"sobject": "Contact", "LastName": "Doe", "Email": "jane@example.com"}],
    )

    @model_validator(mode="after")
    def _writes_something(self) -> Self:
        if not has_fields(self.record):
            raise ValueError("record must set at least one field besides sobject")
        return self


class DeleteRecord(PayloadModel):
    """Delete one record (it goes to the org's recycle bin)."""

    sobject: SObjectType = Field(description="The record's sObject type.")
    record_id: SalesforceId = Field(
        description="The record's 15- or 18-character id.", examples=["00Q5g000001AbCdAAA"]
    )


RestoredValue = Annotated[str | StrictBool | FilterNumber | None, Field(union_mode="left_to_right")]


class RestoreRecord(PayloadModel):
    """Write back field values read earlier; null empties a field."""

    sobject: SObjectType = Field(description="The record's sObject type.")
    record_id: SalesforceId = Field(
        description="The record's 15- or 18-character id.", examples=["00Q5g000001AbCdAAA"]
    )
    values: dict[FieldName, RestoredValue] = Field(
        min_length=1,
        max_length=100,
        description="Field API names and the values to put back; null empties the field.",
        examples=[{"Title": "CTO", "MobilePhone": None}],
    )

    @model_validator(mode="after")
    def _known_fields(self) -> Self:
        unknown = sorted(set(self.values) - writable_fields(self.sobject))
        if unknown:
            raise ValueError(f"{self.sobject} has no writable field {', '.join(unknown)}")
        for name, value in self.values.items():
            if isinstance(value, str) and len(value) > 32000:
                raise ValueError(f"{name}: at most 32000 characters")
        return self


# --- results: what the undo of each write needs -------------------------------------------


class RecordRef(VendorResult):
    """The record a write touched."""

    sobject: SObjectType
    id: SalesforceId


class UpdatedRecord(RecordRef):
    """An update, with the values its fields held before it."""

    previous: dict[str, Any]


class UpsertedRecord(RecordRef):
    """An upsert: whether it created the record, and otherwise the values before it."""

    created: bool
    previous: dict[str, Any] | None = None

    @model_validator(mode="after")
    def _undoable(self) -> Self:
        if not self.created and self.previous is None:
            raise ValueError("an upsert that updated a record keeps the values it replaced")
        return self
