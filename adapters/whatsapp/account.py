"""The settings of one WhatsApp Business phone number: the top-level ``whatsapp`` (tenant
``default``) and each ``tenants.<name>.whatsapp``; from the environment
``CONNECTOR_GATEWAY_WHATSAPP__PHONE_NUMBER_ID`` and so on."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.credentials import read_secret

DEFAULT_BASE_URL = "https://graph.facebook.com"
DEFAULT_GRAPH_VERSION = "v23.0"


class WhatsAppAccount(BaseModel):
    """The business phone number the ``whatsapp`` connector sends from, and the system user
    access token that may send for it; without both the connector is not configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    phone_number_id: str | None = Field(default=None, pattern=r"^[0-9]{1,32}$")
    access_token: SecretStr | None = None
    access_token_file: Path | None = None
    graph_version: str = Field(default=DEFAULT_GRAPH_VERSION, pattern=r"^v[0-9]{1,3}\.[0-9]{1,3}$")
    base_url: str = DEFAULT_BASE_URL

    @property
    def has_credentials(self) -> bool:
        has_token = self.access_token is not None or self.access_token_file is not None
        return self.phone_number_id is not None and has_token

    def resolved_token(self) -> str | None:
        return read_secret(self.access_token, self.access_token_file)
