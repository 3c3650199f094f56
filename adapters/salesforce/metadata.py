"""The ``salesforce`` connector's contract: Salesforce CRM (REST API sObject rows)."""

from __future__ import annotations

from gateway.contract import (
    ConnectorMetadata,
    DataClassification,
    Idempotency,
    OperationSpec,
    PolicyClass,
    RateLimit,
    RetryPolicy,
)

from .operations import CreateRecord, GetRecord, UpdateRecord, UpsertByExternalId

METADATA = ConnectorMetadata(
    key="salesforce",
    display_name="Salesforce CRM",
    display_name_ar="سيلزفورس",
    version="0.1.0",
    contract_url=(
        "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
        "using_resources_working_with_records.htm"
    ),
    operations=(
        OperationSpec(
            name="create_record",
            description=(
                "Create a Lead, Contact or Opportunity. Not compensable: this gateway declares "
                "no delete operation."
            ),
            payload_model=CreateRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="record_created",
            failure_event="record_write_failed",
        ),
        OperationSpec(
            name="get_record",
            description="Read a Lead, Contact or Opportunity by id.",
            payload_model=GetRecord,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="record_read",
            failure_event="record_read_failed",
        ),
        OperationSpec(
            name="update_record",
            description="Change fields of a Lead, Contact or Opportunity.",
            payload_model=UpdateRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="record_updated",
            failure_event="record_write_failed",
        ),
        OperationSpec(
            name="upsert_by_external_id",
            description=(
                "Create or update a Lead, Contact or Opportunity matched by an External ID field."
            ),
            payload_model=UpsertByExternalId,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="record_upserted",
            failure_event="record_write_failed",
        ),
    ),
    # Standard backoff for transient 5xx; the 24-hour API request quota is not a retry case.
    retry_policy=RetryPolicy(),
    # Single-record REST calls usually answer in under a second; triggers and flows can add more.
    timeout_ms=15_000,
    # Salesforce meters calls per 24 h per org; 25 concurrent long requests is the cap that
    # bites first, so 25 a second keeps a sidecar well inside it.
    rate_limit=RateLimit(per_second=25, burst=25),
    # The sObject REST API takes no idempotency key: the gateway replays the first result.
    idempotency=Idempotency.GATEWAY,
    # CRM records hold names, emails and phone numbers of people.
    data_classification=DataClassification.CONFIDENTIAL,
)
