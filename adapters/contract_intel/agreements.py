"""Navigator's Agreements API: the requests and what the adapter returns of the answers.

Paths are relative to ``{navigator host}/v1/accounts``. An agreement is returned as Navigator
gives it (parties, provisions, metadata); a list page adds the continuation token of the next
page, read from ``_links.next.href`` or, as Navigator's own examples give it,
``response_metadata.page_token_next``.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any
from urllib.parse import parse_qs, urlsplit

from gateway.errors import VendorBadResponse

from .operations import ListAgreements

NAVIGATOR_PATH = "/v1/accounts"


def agreements_path(account_id: str) -> str:
    return f"/{account_id}/agreements"


def agreement_path(account_id: str, agreement_id: str) -> str:
    return f"/{account_id}/agreements/{agreement_id}"


def list_params(payload: ListAgreements) -> dict[str, str]:
    params = {
        "limit": None if payload.limit is None else str(payload.limit),
        "ctoken": payload.ctoken,
        "title": payload.title,
        "status": payload.status,
    }
    return {name: value for name, value in params.items() if value is not None}


def _next_token(body: Mapping[str, Any]) -> str | None:
    links = body.get("_links")
    following = links.get("next") if isinstance(links, Mapping) else None
    href = following.get("href") if isinstance(following, Mapping) else None
    if isinstance(href, str):
        tokens = parse_qs(urlsplit(href).query).get("ctoken")
        if tokens:
            return tokens[0]
    meta = body.get("response_metadata")
    token = meta.get("page_token_next") if isinstance(meta, Mapping) else None
    return token if isinstance(token, str) and token else None


def agreements_page(body: Any, status: int) -> dict[str, Any]:
    """list_agreements' result: the page's agreements and the next page's token (or null)."""
    data = body.get("data") if isinstance(body, Mapping) else None
    if not isinstance(data, list):
        raise VendorBadResponse(
            "docusign navigator answered the agreement list without its data",
            metadata={"vendor_status": str(status)},
        )
    return {"agreements": data, "next_ctoken": _next_token(body)}


def agreement(body: Any, status: int) -> dict[str, Any]:
    if not isinstance(body, Mapping) or not isinstance(body.get("id"), str):
        raise VendorBadResponse(
            "docusign navigator answered the agreement read without an agreement",
            metadata={"vendor_status": str(status)},
        )
    return dict(body)
