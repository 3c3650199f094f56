"""Salesforce CRM (REST API sObject rows): payload and result models.

Fields follow the project's sObject description for Lead, Contact and Opportunity
(vendor-specs/salesforce): field names are Salesforce's API names, inputs allow no other
fields, and record ids are 15 or 18 characters. Upsert uses Salesforce's documented
``PATCH …/sobjects/{SObject}/{ExternalIdField}/{value}``, which that description does not model.
No delete operation is declared, so ``create_record`` has no compensation.

Field values may not be null. Salesforce reads null as "clear the field", but the gateway binds
approvals to the payload without its default (None) values, so a null would vanish from what the
approver saw; clearing fields is therefore not offered.
"""

from __future__ import annotations

from typing import Annotated, Any, Literal, Self

from pydantic import ConfigDict, EmailStr, Field, StrictFloat, model_validator

from adapters.shared.payloads import HeaderText, IsoDate, PayloadModel

SALESFORCE_ID_PATTERN = r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
# A record id: 15 characters (case-sensitive) or 18 (with the case-safe suffix).
SalesforceId = Annotated[str, Field(pattern=SALESFORCE_ID_PATTERN)]
SObjectType = Literal["Lead", "Contact", "Opportunity"]
# A field's API name: standard (LastName) or custom, namespaced or not (ns__Customer_Id__c).
FieldName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,79}$")]
Money = Annotated[StrictFloat, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Percent = Annotated[StrictFloat, Field(allow_inf_nan=False, ge=0, le=100)]


def _without_null(schema: dict[str, Any]) -> None:
    """Shows optional fields as their plain type: they may be omitted, never null."""
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf", [])
        kept = [b for b in branches if b.get("type") != "null"]
        if len(kept) == 1 and len(branches) == 2:
            del prop["anyOf"]
            prop.pop("default", None)
            prop.update(kept[0])


class _SObjectFields(PayloadModel):
    """Base of the field sets: every field is optional, and none may be null."""

    model_config = ConfigDict(json_schema_extra=_without_null)

    @model_validator(mode="before")
    @classmethod
    def _no_nulls(cls, data: Any) -> Any:
        if isinstance(data, dict):
            nulls = sorted(k for k, v in data.items() if v is None)
            if nulls:
                raise ValueError(
                    f"null is not accepted ({', '.join(nulls)}): omit a field to leave it "
                    "unchanged; clearing fields is not supported"
                )
        return data


class LeadFields(_SObjectFields):
    """Lead fields; send only those to set."""

    sobject: Literal["Lead"] = Field(description="The sObject type.")
    FirstName: HeaderText | None = Field(default=None, max_length=40, description="First name.")
    LastName: HeaderText | None = Field(default=None, max_length=80, description="Last name.")
    Company: HeaderText | None = Field(default=None, max_length=255, description="Company name.")
    Email: EmailStr | None = Field(default=None, description="Email address.")
    Phone: HeaderText | None = Field(default=None, max_length=40, description="Phone number.")
    MobilePhone: HeaderText | None = Field(
        default=None, max_length=40, description="Mobile number."
    )
    Title: HeaderText | None = Field(default=None, max_length=128, description="Job title.")
    Status: HeaderText | None = Field(
        default=None,
        max_length=255,
        description="Lead status picklist value, e.g. 'Open - Not Contacted'.",
    )
    LeadSource: HeaderText | None = Field(
        default=None, max_length=255, description="Lead source picklist value, e.g. 'Web'."
    )
    Description: str | None = Field(default=None, max_length=32000, description="Free text.")


class NewLead(LeadFields):
    """A new Lead; LastName and Company are required."""

    LastName: HeaderText = Field(min_length=1, max_length=80, description="Last name.")
    Company: HeaderText = Field(min_length=1, max_length=255, description="Company name.")


class ContactFields(_SObjectFields):
    """Contact fields; send only those to set."""

    sobject: Literal["Contact"] = Field(description="The sObject type.")
    FirstName: HeaderText | None = Field(default=None, max_length=40, description="First name.")
    LastName: HeaderText | None = Field(default=None, max_length=80, description="Last name.")
    Email: EmailStr | None = Field(default=None, description="Email address.")
    Phone: HeaderText | None = Field(default=None, max_length=40, description="Phone number.")
    MobilePhone: HeaderText | None = Field(
        default=None, max_length=40, description="Mobile number."
    )
    Title: HeaderText | None = Field(default=None, max_length=128, description="Job title.")
    AccountId: SalesforceId | None = Field(
        default=None, description="The parent Account's id (001…)."
    )
    LeadSource: HeaderText | None = Field(
        default=None, max_length=255, description="Lead source picklist value, e.g. 'Web'."
    )
    Description: str | None = Field(default=None, max_length=32000, description="Free text.")


class NewContact(ContactFields):
    """A new Contact; LastName is required."""

    LastName: HeaderText = Field(min_length=1, max_length=80, description="Last name.")


class OpportunityFields(_SObjectFields):
    """Opportunity fields; send only those to set."""

    sobject: Literal["Opportunity"] = Field(description="The sObject type.")
    Name: HeaderText | None = Field(default=None, max_length=120, description="Opportunity name.")
    StageName: HeaderText | None = Field(
        default=None, max_length=255, description="Stage picklist value, e.g. 'Prospecting'."
    )
    CloseDate: IsoDate | None = Field(default=None, description="Expected close date.")
    Amount: Money | None = Field(
        default=None, description="Estimated amount in the org's currency (a decimal number)."
    )
    Probability: Percent | None = Field(default=None, description="Win probability, 0 to 100.")
    AccountId: SalesforceId | None = Field(default=None, description="The Account's id (001…).")
    LeadSource: HeaderText | None = Field(
        default=None, max_length=255, description="Lead source picklist value, e.g. 'Web'."
    )
    Description: str | None = Field(default=None, max_length=32000, description="Free text.")


class NewOpportunity(OpportunityFields):
    """A new Opportunity; Name, StageName and CloseDate are required."""

    Name: HeaderText = Field(min_length=1, max_length=120, description="Opportunity name.")
    StageName: HeaderText = Field(
        min_length=1, max_length=255, description="Stage picklist value, e.g. 'Prospecting'."
    )
    CloseDate: IsoDate = Field(description="Expected close date.")


NewRecord = Annotated[NewLead | NewContact | NewOpportunity, Field(discriminator="sobject")]
RecordFields = Annotated[
    LeadFields | ContactFields | OpportunityFields, Field(discriminator="sobject")
]


def _has_fields(record: LeadFields | ContactFields | OpportunityFields) -> bool:
    return bool(record.model_fields_set - {"sobject"})


class CreateRecord(PayloadModel):
    """Create one Lead, Contact or Opportunity."""

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
        if not _has_fields(self.record):
            raise ValueError("record must set at least one field besides sobject")
        return self


class UpsertByExternalId(PayloadModel):
    """Create or update the record whose external-id field has the given value."""

    external_id_field: FieldName = Field(
        description="API name of a field marked External ID, e.g. Customer_Number__c.",
        examples=["Customer_Number__c"],
    )
    external_id: HeaderText = Field(
        min_length=1,
        max_length=255,
        description="The external id value that identifies the record.",
    )
    record: RecordFields = Field(
        description=(
            '"sobject" names the type; the other keys are the fields to write. When no record '
            "matches, one is created, and the type's required fields must then be present."
        ),
    )

    @model_validator(mode="after")
    def _writes_something(self) -> Self:
        if not _has_fields(self.record):
            raise ValueError("record must set at least one field besides sobject")
        return self


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
