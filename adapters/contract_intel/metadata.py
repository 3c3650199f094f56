"""The ``contract_intel`` connector's contract: DocuSign eSignature v2.1 and Navigator."""

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
    EnvelopeSent,
    GetAgreement,
    GetEnvelope,
    ListAgreements,
    SendEnvelope,
    VoidEnvelope,
)

METADATA = ConnectorMetadata(
    key="contract_intel",
    display_name="Contract Intelligence (DocuSign)",
    display_name_ar="ذكاء العقود (دوكيوساين)",
    version="1.0.0",
    # eSignature's envelope reference; Navigator's Agreements API is documented alongside it.
    contract_url="https://developers.docusign.com/docs/esign-rest-api/reference/envelopes/envelopes/",
    operations=(
        OperationSpec(
            name="get_agreement",
            description="Read an agreement's parties and extracted provisions (Navigator).",
            payload_model=GetAgreement,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="agreement_read",
            failure_event="agreement_read_failed",
        ),
        OperationSpec(
            name="get_envelope",
            description="Read an envelope's status and its dates (eSignature).",
            payload_model=GetEnvelope,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="envelope_read",
            failure_event="envelope_read_failed",
        ),
        OperationSpec(
            name="list_agreements",
            description="List agreements page by page (Navigator).",
            payload_model=ListAgreements,
            policy_class=PolicyClass.A,
            idempotency=Idempotency.NONE,
            read_only=True,
            success_event="agreements_listed",
            failure_event="agreements_list_failed",
        ),
        OperationSpec(
            name="send_envelope",
            description=(
                "Send documents (or a server template) to signers at once (eSignature). "
                "Compensated by void_envelope, which works until the envelope is completed; "
                "an answer lost on the way is looked up at DocuSign by the envelope's marker."
            ),
            payload_model=SendEnvelope,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation="void_envelope",
            result_model=EnvelopeSent,
            success_event="envelope_sent",
            failure_event="envelope_failed",
        ),
        OperationSpec(
            name="void_envelope",
            description="Void a sent envelope that is not completed (eSignature).",
            payload_model=VoidEnvelope,
            policy_class=PolicyClass.B,
            idempotency=Idempotency.GATEWAY,
            compensation=None,
            success_event="envelope_voided",
            failure_event="envelope_void_failed",
        ),
    ),
    # Fewer, slower retries: DocuSign's limits are hourly, so quick repeats only burn quota.
    retry_policy=RetryPolicy(max_retries=2, backoff_ms=(2000, 4000)),
    # Envelope creation uploads and converts documents; stays under the 30 s call deadline.
    timeout_ms=20_000,
    # DocuSign allows 3,000 calls an hour per account, at most 500 in 30 seconds.
    rate_limit=RateLimit(per_second=3000 / 3600, burst=500),
    # DocuSign takes no idempotency key on envelope calls: the gateway replays the first result,
    # and finds an envelope whose answer was lost by the marker it carries.
    idempotency=Idempotency.GATEWAY,
    # Contracts and signer identities are confidential business and personal data.
    data_classification=DataClassification.CONFIDENTIAL,
)
