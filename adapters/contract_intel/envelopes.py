"""eSignature's envelope resources: what the adapter sends and what it keeps of the answers.

Paths are relative to ``{base_uri}/restapi/v2.1/accounts``. An envelope is sent with a hidden
text custom field holding the gateway's marker, so that an envelope whose answer was lost can
be found again (``GET …/envelopes?custom_field=<name>=<marker>``) instead of sent twice.
"""

from __future__ import annotations

import datetime
from collections.abc import Mapping
from typing import Any

from gateway.errors import VendorBadResponse

from .operations import SendEnvelope

ESIGNATURE_PATH = "/restapi/v2.1/accounts"

# What get_envelope returns of the envelope, under the gateway's snake_case names.
_STATUS_FIELDS = {
    "envelopeId": "envelope_id",
    "status": "status",
    "emailSubject": "email_subject",
    "createdDateTime": "created_date_time",
    "sentDateTime": "sent_date_time",
    "deliveredDateTime": "delivered_date_time",
    "completedDateTime": "completed_date_time",
    "declinedDateTime": "declined_date_time",
    "voidedDateTime": "voided_date_time",
    "voidedReason": "voided_reason",
    "statusChangedDateTime": "status_changed_date_time",
}
_SUMMARY_FIELDS = {
    "envelopeId": "envelope_id",
    "status": "status",
    "statusDateTime": "status_date_time",
    "uri": "uri",
}


def account_path(account_id: str) -> str:
    return f"/{account_id}"


def envelopes_path(account_id: str) -> str:
    return f"/{account_id}/envelopes"


def envelope_path(account_id: str, envelope_id: str) -> str:
    return f"/{account_id}/envelopes/{envelope_id}"


def envelope_definition(payload: SendEnvelope, *, marker_field: str, marker: str) -> dict[str, Any]:
    """The ``envelopeDefinition`` to send at once, carrying the marker as a hidden field."""
    definition: dict[str, Any] = payload.model_dump(mode="json", exclude_none=True)
    recipients = definition.get("recipients")
    if isinstance(recipients, dict) and not recipients.get("carbonCopies"):
        recipients.pop("carbonCopies", None)
    definition["status"] = "sent"
    if marker:
        definition["customFields"] = {
            "textCustomFields": [
                {"name": marker_field, "value": marker, "show": "false", "required": "false"}
            ]
        }
    return definition


def void_body(reason: str) -> dict[str, str]:
    return {"status": "voided", "voidedReason": reason}


def _picked(body: Mapping[str, Any], fields: Mapping[str, str]) -> dict[str, Any]:
    return {ours: body[theirs] for theirs, ours in fields.items() if body.get(theirs) is not None}


def _with_id(body: Any, fields: Mapping[str, str], what: str, status: int) -> dict[str, Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get("envelopeId"), str):
        raise VendorBadResponse(
            f"docusign answered {what} without an envelope id; it may have acted: check the "
            "envelope at DocuSign before repeating it",
            metadata={"vendor_status": str(status)},
        )
    return _picked(body, fields)


def sent_summary(body: Any, status: int) -> dict[str, Any]:
    """send_envelope's result: the id void_envelope needs, and the envelope's status."""
    return _with_id(body, _SUMMARY_FIELDS, "the new envelope", status)


def envelope_status(body: Any, status: int) -> dict[str, Any]:
    return _with_id(body, _STATUS_FIELDS, "the envelope read", status)


def voided(envelope_id: str, body: Any) -> dict[str, Any]:
    """void_envelope's result (DocuSign answers the update with the envelope id only)."""
    answered = body.get("envelopeId") if isinstance(body, Mapping) else None
    return {
        "envelope_id": answered if isinstance(answered, str) else envelope_id,
        "status": "voided",
    }


def lookup_params(*, marker_field: str, marker: str, window_days: int) -> dict[str, str]:
    """The envelope list filtered by the marker's custom field, over the lookup window."""
    since = datetime.datetime.now(datetime.UTC) - datetime.timedelta(days=window_days)
    return {
        "from_date": since.strftime("%Y-%m-%dT%H:%M:%SZ"),
        "custom_field": f"{marker_field}={marker}",
        "include": "custom_fields",
    }


def _carries(envelope: Mapping[str, Any], marker_field: str, marker: str) -> bool:
    fields = envelope.get("customFields")
    texts = fields.get("textCustomFields") if isinstance(fields, Mapping) else None
    return isinstance(texts, list) and any(
        isinstance(f, Mapping) and f.get("name") == marker_field and f.get("value") == marker
        for f in texts
    )


def marked_envelope(body: Any, *, marker_field: str, marker: str) -> dict[str, Any] | None:
    """send_envelope's result for the envelope that carries ``marker``, if any.

    Only an envelope whose own custom fields hold the marker counts: a list that ignored the
    filter must not pass another envelope off as this one."""
    envelopes = body.get("envelopes") if isinstance(body, Mapping) else None
    if not isinstance(envelopes, list):
        return None
    found = [
        e
        for e in envelopes
        if isinstance(e, Mapping)
        and isinstance(e.get("envelopeId"), str)
        and _carries(e, marker_field, marker)
    ]
    if not found:
        return None
    first = min(found, key=lambda e: str(e.get("createdDateTime") or ""))
    summary = _picked(first, {"envelopeId": "envelope_id", "status": "status"})
    if first.get("statusChangedDateTime") is not None:
        summary["status_date_time"] = first["statusChangedDateTime"]
    if first.get("envelopeUri") is not None:
        summary["uri"] = first["envelopeUri"]
    return summary
