"""The settings of one DocuSign account: the top-level ``contract_intel`` (tenant ``default``)
and each ``tenants.<name>.contract_intel``.

The gateway signs in with the OAuth JWT grant as one DocuSign user (``user_id``) of one
integration (``integration_key``), whose RSA private key is given inline or, better, as a file.
The eSignature base URI is what DocuSign's user-info endpoint says for the chosen account;
Navigator has hosts of its own.
"""

from __future__ import annotations

from pathlib import Path
from typing import Annotated, Literal
from urllib.parse import urlsplit

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gateway.credentials import read_secret

GUID_PATTERN = r"^[0-9a-fA-F]{8}-([0-9a-fA-F]{4}-){3}[0-9a-fA-F]{12}$"
# DocuSign's scopes for sending envelopes as the user, and Navigator's for reading agreements.
DEFAULT_SCOPES = ("signature", "impersonation", "adm_store_unified_repo_read", "models_read")

# The account server (JWT grant, user-info) and Navigator's API host, per DocuSign environment.
AUTH_SERVERS = {
    "demo": "https://account-d.docusign.com",
    "production": "https://account.docusign.com",
}
NAVIGATOR_URLS = {
    "demo": "https://api-d.docusign.com",
    "production": "https://api.docusign.com",
}

Guid = Annotated[str, Field(pattern=GUID_PATTERN)]
Scope = Annotated[str, Field(pattern=r"^[a-z_]{1,64}$")]


def _absolute_url(value: str | None) -> str | None:
    if value is None:
        return None
    parts = urlsplit(value)
    if parts.scheme not in ("https", "http") or not parts.hostname:
        raise ValueError("must be an absolute http(s) URL, e.g. https://account-d.docusign.com")
    if parts.query or parts.fragment:
        raise ValueError("must not carry a query or a fragment")
    return value.rstrip("/")


class ContractIntelAccount(BaseModel):
    """One DocuSign account; without an integration key, a user and a key it is not
    configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    environment: Literal["demo", "production"] = Field(
        default="demo", description="Which DocuSign environment the account lives in."
    )
    integration_key: Guid | None = Field(default=None, description="The app's integration key.")
    user_id: Guid | None = Field(default=None, description="The user the gateway acts as.")
    private_key: SecretStr | None = Field(default=None, description="RSA private key, PEM.")
    private_key_file: Path | None = Field(default=None, description="File holding private_key.")
    account_id: Guid | None = Field(
        default=None,
        description="The API account id; unset: the user's default account (user-info).",
    )
    scopes: tuple[Scope, ...] = Field(
        default=DEFAULT_SCOPES, min_length=1, description="Scopes asked for in the JWT grant."
    )
    auth_server: str | None = Field(
        default=None, description="Account server URL; unset: the environment's."
    )
    navigator_url: str | None = Field(
        default=None, description="Navigator API URL; unset: the environment's."
    )
    marker_field: str = Field(
        default="gateway_marker",
        pattern=r"^[A-Za-z][A-Za-z0-9_]{0,49}$",
        description="Name of the hidden envelope custom field that carries the gateway's marker.",
    )
    void_reason: str = Field(
        default="Withdrawn by the sender.",
        min_length=1,
        max_length=200,
        description="The voided reason recipients see when send_envelope is undone.",
    )
    lookup_window_days: int = Field(
        default=30,
        ge=1,
        le=365,
        description="How far back a lost envelope is looked for by its marker.",
    )
    probe_timeout_s: float = Field(default=5.0, gt=0, le=60)

    _urls = field_validator("auth_server", "navigator_url")(_absolute_url)

    @property
    def auth_url(self) -> str:
        return self.auth_server or AUTH_SERVERS[self.environment]

    @property
    def navigator_base(self) -> str:
        return self.navigator_url or NAVIGATOR_URLS[self.environment]

    @property
    def audience(self) -> str:
        """The JWT grant's audience: the account server's host name."""
        return urlsplit(self.auth_url).hostname or ""

    @property
    def complete(self) -> bool:
        has_key = bool(self.private_key and self.private_key.get_secret_value())
        return bool(self.integration_key and self.user_id and (has_key or self.private_key_file))

    def resolved_private_key(self) -> str | None:
        return read_secret(self.private_key, self.private_key_file)
