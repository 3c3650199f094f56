"""The settings of one Twilio account: the top-level ``voice`` (tenant ``default``) and each
``tenants.<name>.voice``; from the environment ``CONNECTOR_GATEWAY_VOICE__ACCOUNT_SID`` and so on.

Twilio takes HTTP Basic auth: the Account SID with its Auth Token, or an API key's SID with the
key's secret (Twilio's advice for production). The Account SID is always needed: it is part of
every path.
"""

from __future__ import annotations

from pathlib import Path
from typing import Self

from pydantic import BaseModel, ConfigDict, Field, SecretStr, model_validator

from gateway.credentials import read_secret

DEFAULT_BASE_URL = "https://api.twilio.com"


class VoiceAccount(BaseModel):
    """One Twilio account used by the ``voice`` connector; without an Account SID and a
    secret the connector is not configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    account_sid: str | None = Field(default=None, pattern=r"^AC[0-9a-fA-F]{32}$")
    auth_token: SecretStr | None = None
    auth_token_file: Path | None = None
    # An API key (SK...) and its secret, used instead of the Auth Token when set.
    api_key_sid: str | None = Field(default=None, pattern=r"^SK[0-9a-fA-F]{32}$")
    api_key_secret: SecretStr | None = None
    api_key_secret_file: Path | None = None
    base_url: str = DEFAULT_BASE_URL

    @model_validator(mode="after")
    def _one_kind_of_secret(self) -> Self:
        has_key_secret = self.api_key_secret is not None or self.api_key_secret_file is not None
        if has_key_secret and self.api_key_sid is None:
            raise ValueError("api_key_secret needs api_key_sid (the SK... of the key)")
        if self.api_key_sid is not None and not has_key_secret:
            raise ValueError("api_key_sid needs api_key_secret or api_key_secret_file")
        return self

    @property
    def has_credentials(self) -> bool:
        if self.account_sid is None:
            return False
        if self.api_key_sid is not None:
            return True  # the validator made sure its secret is given
        return self.auth_token is not None or self.auth_token_file is not None

    def basic_auth(self) -> tuple[str, str] | None:
        """(user, password) for HTTP Basic auth, reading a secret file if one is named."""
        if self.api_key_sid is not None:
            secret = read_secret(self.api_key_secret, self.api_key_secret_file)
            return (self.api_key_sid, secret) if secret else None
        token = read_secret(self.auth_token, self.auth_token_file)
        if self.account_sid is None or not token:
            return None
        return (self.account_sid, token)
