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

from .operations import (
    CreateRecord,
    DeleteRecord,
    GetRecord,
    QueryRecords,
    RecordRef,
    RestoreRecord,
    UpdatedRecord,
    UpdateRecord,
    UpsertByExternalId,
    UpsertedRecord,
)

GET_RECORD = "get_record"
QUERY = "query"
CREATE_RECORD = "create_record"
UPDATE_RECORD = "update_record"
UPSERT_BY_EXTERNAL_ID = "upsert_by_external_id"
DELETE_RECORD = "delete_record"
RESTORE_RECORD = "restore_record"

METADATA = ConnectorMetadata(
    key="salesforce",
    display_name="Salesforce CRM",
    display_name_ar="سيلزفورس",
    version="1.0.0",
    contract_url=(
        "https://developer.salesforce.com/docs/atlas.en-us.api_rest.meta/api_rest/"
        "using_resources_working_with_records.htm"
    ),
    operations=(
        OperationSpec(
            name=GET_RECORD,
            description="Read an Account, Contact, Lead or Opportunity by id.",
            payload_model=GetRecord,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="record_read",
            failure_event="record_read_failed",
        ),
        OperationSpec(
            name=QUERY,
            description=(
                "Find up to 200 records of one type by field comparisons (all must hold), "
                "sorted as asked. The gateway writes the SOQL; raw SOQL is not accepted."
            ),
            payload_model=QueryRecords,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="records_queried",
            failure_event="record_query_failed",
        ),
        OperationSpec(
            name=CREATE_RECORD,
            description=("Create an Account, Contact, Lead or Opportunity. Undone by deleting it."),
            payload_model=CreateRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=DELETE_RECORD,
            success_event="record_created",
            failure_event="record_write_failed",
            result_model=RecordRef,
        ),
        OperationSpec(
            name=UPDATE_RECORD,
            description=(
                "Change fields of a record. The values they held are read first and kept in "
                "the result; the undo writes them back."
            ),
            payload_model=UpdateRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=RESTORE_RECORD,
            success_event="record_updated",
            failure_event="record_write_failed",
            result_model=UpdatedRecord,
        ),
        OperationSpec(
            name=UPSERT_BY_EXTERNAL_ID,
            description=(
                "Create or update the record whose external id field (named in the gateway's "
                "account settings for the type) holds the given value. Undone by deleting the "
                "record it created, or by writing back the values it replaced."
            ),
            payload_model=UpsertByExternalId,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=RESTORE_RECORD,
            success_event="record_upserted",
            failure_event="record_write_failed",
            result_model=UpsertedRecord,
        ),
        OperationSpec(
            name=DELETE_RECORD,
            description=(
                "Delete a record (to the org's recycle bin). The undo of create_record; it "
                "cannot itself be undone through the gateway."
            ),
            payload_model=DeleteRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            success_event="record_deleted",
            failure_event="record_write_failed",
        ),
        OperationSpec(
            name=RESTORE_RECORD,
            description=(
                "Write back field values read before a change (null empties a field). The "
                "undo of update_record and upsert_by_external_id (which deletes the record "
                "when the upsert created it)."
            ),
            payload_model=RestoreRecord,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            success_event="record_restored",
            failure_event="record_write_failed",
        ),
    ),
    # Standard backoff for transient 5xx; REQUEST_LIMIT_EXCEEDED asks for a minute's wait,
    # which no call's deadline covers, so it goes back to the agent.
    retry_policy=RetryPolicy(),
    # Single-record REST calls usually answer in under a second; triggers and flows can add
    # more, and an update or upsert reads the record before writing it.
    timeout_ms=15_000,
    # Salesforce meters calls per 24 h per org; 25 concurrent long requests is the cap that
    # bites first, so 25 a second keeps a sidecar well inside it.
    rate_limit=RateLimit(per_second=25, burst=25),
    # The sObject REST API takes no idempotency key: the gateway replays the first result,
    # and a create whose answer was lost is looked up by the marker it wrote.
    idempotency=Idempotency.GATEWAY,
    # CRM records hold names, emails and phone numbers of people.
    data_classification=DataClassification.CONFIDENTIAL,
)
