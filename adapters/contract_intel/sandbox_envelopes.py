"""One tenant's eSignature envelopes in the DocuSign sandbox, and the checks DocuSign makes.

An envelope is sent (``status: "sent"``) from inline documents and recipients or from one of
the account's server templates (``TEMPLATES``), or kept as a draft (``"created"``). Its
custom fields are kept, so that the envelope list's ``custom_field=name=value`` filter finds
it. Only a sent or delivered envelope can be voided. Document bytes are checked as base64 and
then dropped: the sandbox keeps each document's name only.
"""

from __future__ import annotations

import binascii
import datetime
import uuid
from collections.abc import Mapping
from dataclasses import dataclass
from typing import Any

# The server templates every sandbox account has: id -> name.
TEMPLATES = {
    "8c9d0e1f-2a3b-4c5d-8e6f-7a8b9c0d1e2f": "Mutual NDA",
    "3f4e5d6c-7b8a-4978-a6b5-c4d3e2f1a0b9": "Order form",
}
MAX_ENVELOPES = 10_000  # per tenant
VOIDABLE = frozenset({"sent", "delivered"})
_MAX_LIST = 1000  # DocuSign's page of the envelope list


class EsignError(Exception):
    """A refusal in eSignature's terms: HTTP status, ``errorCode`` and message."""

    def __init__(self, status: int, code: str, message: str) -> None:
        super().__init__(message)
        self.status, self.code, self.message = status, code, message


def invalid(message: str) -> EsignError:
    return EsignError(400, "INVALID_REQUEST_PARAMETER", message)


def docusign_time(moment: datetime.datetime) -> str:
    """DocuSign's timestamps: UTC, seven decimals of a second."""
    return moment.strftime("%Y-%m-%dT%H:%M:%S.%f0Z")


def _instant(text: str, name: str) -> datetime.datetime:
    """A query's date: an ISO 8601 date or date-time (UTC unless it says otherwise)."""
    try:
        moment = datetime.datetime.fromisoformat(text.replace("Z", "+00:00"))
    except ValueError:
        raise invalid(f"{name} is not a valid date: {text!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=datetime.UTC)


def _incomplete(what: str) -> EsignError:
    return EsignError(
        400,
        "ENVELOPE_IS_INCOMPLETE",
        f"The Envelope is not Complete. A Complete Envelope Requires Documents, Recipients, "
        f"Tabs, and a Subject Line. ({what})",
    )


def _list(value: Any, name: str) -> list[Mapping[str, Any]]:
    if value is None:
        return []
    if not isinstance(value, list) or not all(isinstance(item, Mapping) for item in value):
        raise invalid(f"{name} must be a list of objects")
    return value


def _people(entries: list[Mapping[str, Any]], kind: str) -> list[str]:
    """``Name <email>`` of each recipient, once each has a name and a plausible address."""
    people = []
    for entry in entries:
        email, name = entry.get("email"), entry.get("name")
        if not isinstance(email, str) or "@" not in email.strip("@"):
            raise EsignError(
                400,
                "INVALID_EMAIL_ADDRESS_FOR_RECIPIENT",
                f"The email address for the {kind} is invalid.",
            )
        if not isinstance(name, str) or not name.strip():
            raise _incomplete(f"a {kind} has no name")
        people.append(f"{name} <{email}>")
    return people


def _document_names(documents: list[Mapping[str, Any]]) -> list[str]:
    names = []
    for document in documents:
        name, content = document.get("name"), document.get("documentBase64")
        if not isinstance(name, str) or not name or not isinstance(content, str):
            raise _incomplete("a document needs a name and documentBase64")
        try:
            binascii.a2b_base64(content.encode("ascii"), strict_mode=True)
        except (binascii.Error, UnicodeError):
            raise invalid(f"documentBase64 of {name!r} is not base64") from None
        names.append(name)
    return names


@dataclass
class Sent:
    """What the sandbox shows of an envelope it accepted."""

    envelope: dict[str, Any]
    summary: dict[str, Any]


class Envelopes:
    """The envelopes of one account, by id."""

    def __init__(self) -> None:
        self._by_id: dict[str, dict[str, Any]] = {}

    def create(self, definition: Mapping[str, Any]) -> Sent:
        status = definition.get("status", "created")
        if status not in ("sent", "created"):
            raise invalid(f"an envelope is created as 'sent' or 'created', not {status!r}")
        subject = definition.get("emailSubject")
        if status == "sent" and (not isinstance(subject, str) or not subject.strip()):
            raise _incomplete("no emailSubject")
        template_id = definition.get("templateId")
        recipients = definition.get("recipients") or {}
        if not isinstance(recipients, Mapping):
            raise invalid("recipients must be an object")
        if template_id is not None and template_id not in TEMPLATES:
            raise EsignError(400, "TEMPLATE_ID_INVALID", "Invalid template ID.")
        signers = _people(_list(recipients.get("signers"), "signers"), "signer")
        signers += _people(_list(definition.get("templateRoles"), "templateRoles"), "role")
        copies = _people(_list(recipients.get("carbonCopies"), "carbonCopies"), "copy recipient")
        documents = _document_names(_list(definition.get("documents"), "documents"))
        if status == "sent" and not signers:
            raise _incomplete("no recipient")
        if status == "sent" and not documents and template_id is None:
            raise _incomplete("no document")
        if len(self._by_id) >= MAX_ENVELOPES:
            raise invalid(f"the sandbox account holds at most {MAX_ENVELOPES} envelopes")
        custom_fields = definition.get("customFields") or {}
        if not isinstance(custom_fields, Mapping):
            raise invalid("customFields must be an object")

        now = docusign_time(datetime.datetime.now(datetime.UTC))
        envelope_id = str(uuid.uuid4())
        envelope: dict[str, Any] = {
            "envelopeId": envelope_id,
            "envelopeUri": f"/envelopes/{envelope_id}",
            "status": status,
            "emailSubject": subject,
            "emailBlurb": definition.get("emailBlurb"),
            "createdDateTime": now,
            "lastModifiedDateTime": now,
            "statusChangedDateTime": now,
            "customFields": dict(custom_fields),
        }
        if status == "sent":
            envelope["sentDateTime"] = now
        if template_id is not None:
            envelope["templateId"] = template_id
        self._by_id[envelope_id] = {k: v for k, v in envelope.items() if v is not None}
        summary = {
            "envelope_id": envelope_id,
            "status": status,
            "email_subject": subject,
            "signers": signers,
            **({"carbon_copies": copies} if copies else {}),
            **({"documents": documents} if documents else {}),
            **({"template": TEMPLATES[template_id]} if template_id is not None else {}),
        }
        return Sent(self._by_id[envelope_id], summary)

    def get(self, envelope_id: str) -> dict[str, Any]:
        found = self._by_id.get(envelope_id.lower())
        if found is None:
            raise EsignError(
                404,
                "ENVELOPE_DOES_NOT_EXIST",
                "The envelope specified either does not exist or you have no rights to it.",
            )
        return found

    def void(self, envelope_id: str, change: Mapping[str, Any]) -> dict[str, Any]:
        envelope = self.get(envelope_id)
        if change.get("status") != "voided":
            raise invalid("the sandbox changes an envelope only to void it (status: voided)")
        reason = change.get("voidedReason")
        if not isinstance(reason, str) or not reason.strip():
            raise invalid("voidedReason is required to void an envelope")
        if envelope["status"] not in VOIDABLE:
            raise EsignError(
                400,
                "ENVELOPE_CANNOT_VOID_INVALID_STATE",
                "Only envelopes in the 'Sent' or 'Delivered' states may be voided.",
            )
        now = docusign_time(datetime.datetime.now(datetime.UTC))
        envelope.update(
            status="voided",
            voidedReason=reason,
            voidedDateTime=now,
            statusChangedDateTime=now,
            lastModifiedDateTime=now,
        )
        return envelope

    def listed(self, query: Mapping[str, str]) -> list[dict[str, Any]]:
        """The envelope list's filters: ``from_date`` (required here, as DocuSign requires it
        or a list of ids), ``to_date`` and ``status`` on the status's last change,
        ``custom_field`` (``name=value``), ``envelope_ids``, ``count``, ``start_position``."""
        ids = {i.strip().lower() for i in query.get("envelope_ids", "").split(",") if i.strip()}
        if "from_date" not in query and not ids:
            raise invalid(
                "The request contained at least one invalid parameter. A value for "
                "'from_date' or 'envelope_ids' must be set."
            )
        since = _instant(query["from_date"], "from_date") if "from_date" in query else None
        until = _instant(query["to_date"], "to_date") if "to_date" in query else None
        statuses = {s.strip().lower() for s in query.get("status", "").split(",") if s.strip()}
        field, _, value = query.get("custom_field", "").partition("=")
        found = []
        for envelope in self._by_id.values():
            changed = _instant(envelope["statusChangedDateTime"], "statusChangedDateTime")
            if (
                (ids and envelope["envelopeId"] not in ids)
                or (since is not None and changed < since)
                or (until is not None and changed > until)
                or (statuses - {"any"} and envelope["status"] not in statuses)
                or (field and not carries(envelope, field, value))
            ):
                continue
            found.append(envelope)
        start = _count(query.get("start_position", "0"), "start_position", 0)
        count = _count(query.get("count", str(_MAX_LIST)), "count", 1)
        return found[start : start + min(count, _MAX_LIST)]


def _count(text: str, name: str, least: int) -> int:
    if not text.isdigit() or int(text) < least:
        raise invalid(f"{name} must be a whole number of at least {least}")
    return int(text)


def carries(envelope: Mapping[str, Any], name: str, value: str) -> bool:
    """Whether one of the envelope's text custom fields is ``name`` holding ``value``."""
    fields = envelope.get("customFields")
    texts = fields.get("textCustomFields") if isinstance(fields, Mapping) else None
    return isinstance(texts, list) and any(
        isinstance(f, Mapping) and f.get("name") == name and f.get("value") == value for f in texts
    )


def shown(envelope: Mapping[str, Any], include: str) -> dict[str, Any]:
    """The envelope as eSignature answers it: custom fields only when ``include`` asks."""
    wanted = {part.strip() for part in include.split(",")}
    return {k: v for k, v in envelope.items() if k != "customFields" or "custom_fields" in wanted}
