"""The settings of one SMTP relay account: the top-level ``email`` (tenant ``default``) and
each ``tenants.<name>.email``."""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.credentials import read_secret


class EmailAccount(BaseModel):
    """SMTP relay used by the ``email`` connector; unset host means not configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    host: str | None = None
    port: int = Field(default=587, ge=1, le=65535)
    security: Literal["none", "starttls", "tls"] = "starttls"
    username: str | None = None
    password: SecretStr | None = None
    password_file: Path | None = None
    from_address: str | None = None
    ca_file: Path | None = None  # extra CA bundle, for relays with a private CA

    def resolved_password(self) -> str | None:
        return read_secret(self.password, self.password_file)
