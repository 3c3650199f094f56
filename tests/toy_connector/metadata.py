"""The toy connector's contract: a class A read and a class B write."""

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

from .operations import AddNote, GetNote

METADATA = ConnectorMetadata(
    key="toy",
    display_name="Toy notes",
    display_name_ar="ملاحظات تجريبية",
    version="0.3.0",
    contract_url="https://example.invalid/toy-notes",
    operations=(
        OperationSpec(
            name="add_note",
            description="Write a new note.",
            payload_model=AddNote,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            success_event="note_added",
            failure_event="note_add_failed",
        ),
        OperationSpec(
            name="get_note",
            description="Read a note by id.",
            payload_model=GetNote,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="note_read",
            failure_event="note_read_failed",
        ),
    ),
    retry_policy=RetryPolicy(),
    timeout_ms=5_000,
    rate_limit=RateLimit(per_second=10, burst=10),
    idempotency=Idempotency.GATEWAY,
    data_classification=DataClassification.INTERNAL,
)
