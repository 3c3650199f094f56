"""The settings of one Salesforce org: the top-level ``salesforce`` (tenant ``default``) and
each ``tenants.<name>.salesforce``.

The gateway signs in with the OAuth 2.0 JWT bearer flow: a connected app (its consumer key)
whose certificate holds the public half of ``private_key``, pre-authorized for ``username``.
"""

from __future__ import annotations

import ipaddress
from pathlib import Path
from typing import Annotated, Self
from urllib.parse import urlsplit

from pydantic import AfterValidator, BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.credentials import read_secret

from .records import SObjectType

LOOPBACK_NAMES = frozenset({"localhost"})
# Only custom fields (``__c``) can be marked External ID, and none of them is among the
# standard fields an agent writes, so the marker never overwrites an agent's value.
CustomFieldName = Annotated[str, Field(pattern=r"^[A-Za-z][A-Za-z0-9_]{0,76}__c$")]


def is_allowed_url(url: str) -> bool:
    """An absolute https URL without query or fragment; plain http only on loopback."""
    try:
        parts = urlsplit(url)
        host = parts.hostname or ""
    except ValueError:
        return False
    if not host or parts.query or parts.fragment or parts.username or parts.password:
        return False
    if parts.scheme == "https":
        return True
    if parts.scheme != "http":
        return False
    if host in LOOPBACK_NAMES:
        return True
    try:
        return ipaddress.ip_address(host).is_loopback
    except ValueError:
        return False


def _login_url(url: str) -> str:
    if not is_allowed_url(url):
        raise ValueError(
            "must be an https URL such as https://login.salesforce.com (http only on loopback)"
        )
    return url.rstrip("/")


class SalesforceAccount(BaseModel):
    """One Salesforce org reached through a connected app with the JWT bearer flow."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    # https://login.salesforce.com, https://test.salesforce.com (sandboxes) or the org's
    # My Domain URL; also the assertion's audience.
    login_url: Annotated[str, AfterValidator(_login_url)] = "https://login.salesforce.com"
    consumer_key: str = Field(min_length=1)  # the connected app's client id: the issuer
    username: str = Field(min_length=1)  # the Salesforce user the gateway acts as: the subject
    private_key: SecretStr | None = None  # PEM, RSA; signs the assertion
    private_key_file: Path | None = None
    api_version: str = Field(default="v60.0", pattern=r"^v[0-9]{2,3}\.0$")
    # Per sObject type, the API name of a Text field marked External ID (and Unique), at
    # least 64 characters long: upsert_by_external_id matches records by it, and
    # create_record writes its idempotency marker into it, so that a create whose answer was
    # lost can be looked up.
    external_id_fields: dict[SObjectType, CustomFieldName] = Field(default_factory=dict)

    @model_validator(mode="after")
    def _has_a_key(self) -> Self:
        if self.private_key is None and self.private_key_file is None:
            raise ValueError("give private_key or private_key_file")
        return self

    def resolved_private_key(self) -> str | None:
        return read_secret(self.private_key, self.private_key_file)
