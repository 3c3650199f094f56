"""One tenant's Navigator agreements in the DocuSign sandbox: a few sample agreements, made
with the tenant's account (ids of their own, so tenants never share one), in the shape of
Navigator's Agreements API, and listed a page at a time.

The list takes ``limit`` (1 to 100, default 25), ``ctoken`` (the continuation token a page
gives for the next), and ``title`` and ``status`` (exact, without regard to case); a page
names the next one in ``_links.next.href`` and ``response_metadata.page_token_next``.
"""

from __future__ import annotations

import base64
import binascii
import datetime
import uuid
from collections.abc import Mapping
from typing import Any
from urllib.parse import urlencode

DEFAULT_LIMIT = 25
MAX_LIMIT = 100

# What each sample agreement says; ids, parties' ids and dates of creation are the tenant's.
SAMPLES: tuple[dict[str, Any], ...] = (
    {
        "title": "Mutual Non-Disclosure Agreement",
        "file_name": "Mutual NDA - ACME.pdf",
        "type": "Non-Disclosure Agreement",
        "category": "BusinessServices",
        "summary": "ACME, Inc. and the company agree to keep each other's confidential "
        "information secret for three years after disclosure.",
        "status": "COMPLETE",
        "parties": ["ACME, INC"],
        "provisions": {
            "effective_date": "2025-01-15T00:00:00Z",
            "expiration_date": "2028-01-15T00:00:00Z",
            "execution_date": "2025-01-10T09:30:00Z",
            "term_length": "P3Y",
            "nda_type": "BILATERAL",
            "confidentiality_obligation_period": "P3Y",
            "jurisdiction": "New York",
            "governing_law": "New York",
        },
    },
    {
        "title": "Master Services Agreement",
        "file_name": "MSA - Globex.pdf",
        "type": "Master Service Agreement",
        "category": "BusinessServices",
        "summary": "Globex Corporation provides managed IT services for two years, renewing "
        "each year unless either side gives 90 days' notice.",
        "status": "COMPLETE",
        "parties": ["GLOBEX CORPORATION"],
        "provisions": {
            "effective_date": "2024-09-01T00:00:00Z",
            "expiration_date": "2026-09-01T00:00:00Z",
            "execution_date": "2024-08-15T11:45:00Z",
            "term_length": "P2Y",
            "total_agreement_value": 150000,
            "total_agreement_value_currency_code": "USD",
            "payment_terms_due_date": "THIRTY_DAYS",
            "renewal_type": "AUTO_RENEW",
            "renewal_notice_period": "P90D",
            "renewal_extension_period": "P1Y",
            "termination_period_for_cause": "P30D",
            "termination_period_for_convenience": "P90D",
            "jurisdiction": "California",
        },
    },
    {
        "title": "Order Form",
        "file_name": "Order form - Initech.pdf",
        "type": "Order Form",
        "category": "Procurement",
        "summary": "A one-year order of 500 software licences from Initech, not renewed.",
        "status": "INACTIVE",
        "parties": ["INITECH LLC"],
        "provisions": {
            "effective_date": "2023-03-01T00:00:00Z",
            "expiration_date": "2024-03-01T00:00:00Z",
            "execution_date": "2023-02-20T16:00:00Z",
            "term_length": "P1Y",
            "total_agreement_value": 42000,
            "total_agreement_value_currency_code": "USD",
        },
    },
)


def utc_now() -> str:
    return datetime.datetime.now(datetime.UTC).strftime("%Y-%m-%dT%H:%M:%SZ")


class NavigatorError(Exception):
    """A refusal in Navigator's terms: HTTP status and message."""

    def __init__(self, status: int, message: str) -> None:
        super().__init__(message)
        self.status, self.message = status, message


def sample_agreements(account_id: str, user_id: str, own_party: str) -> list[dict[str, Any]]:
    """The tenant's agreements: each sample with ids of its own, the tenant's company as a
    party beside the sample's counterparty."""
    now = utc_now()
    made = []
    for sample in SAMPLES:
        parties = [own_party, *sample["parties"]]
        made.append(
            {
                "id": str(uuid.uuid4()),
                **{k: v for k, v in sample.items() if k != "parties"},
                "review_status": "COMPLETE",
                "parties": [
                    {"id": str(uuid.uuid4()), "name_in_agreement": name, "preferred_name": name}
                    for name in parties
                ],
                "languages": ["en-US"],
                "source_name": "Docusign eSign",
                "source_id": str(uuid.uuid4()),
                "source_account_id": account_id,
                "metadata": {"created_at": now, "created_by": user_id, "modified_at": now},
            }
        )
    return made


def _token(offset: int) -> str:
    return base64.urlsafe_b64encode(f"offset:{offset}".encode()).decode().rstrip("=")


def _offset(token: str) -> int:
    try:
        text = base64.urlsafe_b64decode(token + "=" * (-len(token) % 4)).decode()
    except (binascii.Error, UnicodeError):
        text = ""
    kind, _, number = text.partition(":")
    if kind != "offset" or not number.isdigit():
        raise NavigatorError(400, "The continuation token is not valid.")
    return int(number)


def _limit(text: str | None) -> int:
    if text is None:
        return DEFAULT_LIMIT
    if not text.isdigit() or not 1 <= int(text) <= MAX_LIMIT:
        raise NavigatorError(400, f"limit must be a whole number from 1 to {MAX_LIMIT}.")
    return int(text)


def page(agreements: list[dict[str, Any]], query: Mapping[str, str], url: str) -> dict[str, Any]:
    """One page of the list at ``url`` (the list's own URL, for its links)."""
    limit = _limit(query.get("limit"))
    offset = _offset(query["ctoken"]) if "ctoken" in query else 0
    filters = {name: query[name] for name in ("title", "status") if name in query}
    chosen = [
        a
        for a in agreements
        if all(str(a.get(name, "")).casefold() == want.casefold() for name, want in filters.items())
    ]
    data = chosen[offset : offset + limit]
    following = offset + limit if offset + limit < len(chosen) else None
    here = {"limit": str(limit), **filters}
    metadata: dict[str, Any] = {
        "page_limit": limit,
        "request_id": str(uuid.uuid4()),
        "response_timestamp": utc_now(),
        "response_duration_ms": 0,
    }
    links: dict[str, Any] = {"self": {"href": f"{url}?{urlencode(here)}"}}
    if following is not None:
        metadata["page_token_next"] = _token(following)
        links["next"] = {"href": f"{url}?{urlencode({**here, 'ctoken': _token(following)})}"}
    return {"data": data, "response_metadata": metadata, "_links": links}


def agreement(agreements: list[dict[str, Any]], agreement_id: str) -> dict[str, Any]:
    for found in agreements:
        if found["id"] == agreement_id.lower():
            return found
    raise NavigatorError(404, "The agreement was not found.")
