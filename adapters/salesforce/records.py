"""The sObject rows the connector writes: Account, Contact, Lead and Opportunity.

Field names are Salesforce's API names, and each type accepts only its listed fields (a small
standard subset). Lead, Contact and Opportunity follow the project's sObject description
(vendor-specs/salesforce); Account follows Salesforce's standard object reference.

Field values may not be null. Salesforce reads null as "clear the field", but the gateway
binds approvals to the payload without its default (None) values, so a null would vanish
from what the approver saw; clearing fields is therefore not offered to agents (an undo that
restores an empty field does send null: see ``restore_record``).
"""

from __future__ import annotations

from typing import Annotated, Any, Literal

from pydantic import BeforeValidator, ConfigDict, EmailStr, Field, StrictFloat, model_validator

from adapters.shared.payloads import HeaderText, IsoDate, PayloadModel, integral

SALESFORCE_ID_PATTERN = r"^[a-zA-Z0-9]{15}([a-zA-Z0-9]{3})?$"
# A record id: 15 characters (case-sensitive) or 18 (with the case-safe suffix).
SalesforceId = Annotated[str, Field(pattern=SALESFORCE_ID_PATTERN)]
SObjectType = Literal["Account", "Contact", "Lead", "Opportunity"]
SOBJECT_TYPES: tuple[SObjectType, ...] = ("Account", "Contact", "Lead", "Opportunity")
# A field's API name: standard (LastName) or custom, namespaced or not (ns__Customer_Id__c).
FIELD_NAME_PATTERN = r"^[A-Za-z][A-Za-z0-9_]{0,79}$"
FieldName = Annotated[str, Field(pattern=FIELD_NAME_PATTERN)]
Money = Annotated[StrictFloat, Field(allow_inf_nan=False, ge=-1e15, le=1e15)]
Percent = Annotated[StrictFloat, Field(allow_inf_nan=False, ge=0, le=100)]
Employees = Annotated[int, Field(strict=True, ge=0, le=99_999_999), BeforeValidator(integral)]


def without_null(schema: dict[str, Any]) -> None:
    """Shows optional fields as their plain type: they may be omitted, never null."""
    for prop in schema.get("properties", {}).values():
        branches = prop.get("anyOf", [])
        kept = [b for b in branches if b.get("type") != "null"]
        if len(kept) == 1 and len(branches) == 2:
            del prop["anyOf"]
            prop.pop("default", None)
            prop.update(kept[0])


class SObjectFields(PayloadModel):
    """Base of the field sets: every field is optional, and none may be null."""

    model_config = ConfigDict(json_schema_extra=without_null)

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

    def values(self) -> dict[str, Any]:
        """The fields to write, as Salesforce takes them (JSON types)."""
        return self.model_dump(mode="json", exclude={"sobject"}, exclude_none=True)

    def names(self) -> list[str]:
        """The API names of the fields set, in declaration order."""
        return list(self.values())


class AccountFields(SObjectFields):
    """Account fields; send only those to set."""

    sobject: Literal["Account"] = Field(description="The sObject type.")
    Name: HeaderText | None = Field(default=None, max_length=255, description="Account name.")
    AccountNumber: HeaderText | None = Field(
        default=None, max_length=40, description="Account number."
    )
    Type: HeaderText | None = Field(
        default=None, max_length=255, description="Type picklist value, e.g. 'Customer'."
    )
    Industry: HeaderText | None = Field(
        default=None, max_length=255, description="Industry picklist value, e.g. 'Retail'."
    )
    Phone: HeaderText | None = Field(default=None, max_length=40, description="Phone number.")
    Website: HeaderText | None = Field(default=None, max_length=255, description="Website.")
    NumberOfEmployees: Employees | None = Field(
        default=None, description="Number of employees, a whole number."
    )
    AnnualRevenue: Money | None = Field(
        default=None, description="Annual revenue in the org's currency (a decimal number)."
    )
    BillingStreet: str | None = Field(
        default=None, max_length=255, description="Billing street; may span lines."
    )
    BillingCity: HeaderText | None = Field(default=None, max_length=40, description="Billing city.")
    BillingState: HeaderText | None = Field(
        default=None, max_length=80, description="Billing state or province."
    )
    BillingPostalCode: HeaderText | None = Field(
        default=None, max_length=20, description="Billing postal code."
    )
    BillingCountry: HeaderText | None = Field(
        default=None, max_length=80, description="Billing country."
    )
    Description: str | None = Field(default=None, max_length=32000, description="Free text.")


class NewAccount(AccountFields):
    """A new Account; Name is required."""

    Name: HeaderText = Field(min_length=1, max_length=255, description="Account name.")


class LeadFields(SObjectFields):
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


class ContactFields(SObjectFields):
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


class OpportunityFields(SObjectFields):
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


NewRecord = Annotated[
    NewAccount | NewContact | NewLead | NewOpportunity, Field(discriminator="sobject")
]
RecordFields = Annotated[
    AccountFields | ContactFields | LeadFields | OpportunityFields,
    Field(discriminator="sobject"),
]

FIELD_SETS: dict[str, type[SObjectFields]] = {
    "Account": AccountFields,
    "Contact": ContactFields,
    "Lead": LeadFields,
    "Opportunity": OpportunityFields,
}


def writable_fields(sobject: str) -> frozenset[str]:
    """The API names an agent may write on ``sobject``."""
    return frozenset(FIELD_SETS[sobject].model_fields) - {"sobject"}


def has_fields(record: SObjectFields) -> bool:
    return bool(record.model_fields_set - {"sobject"})
