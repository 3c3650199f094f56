"""The settings of one Cal.com account: the top-level ``cal`` (tenant ``default``) and each
``tenants.<name>.cal``; from the environment as ``CONNECTOR_GATEWAY_CAL__<FIELD>``."""

from __future__ import annotations

from pathlib import Path
from typing import Annotated

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.credentials import read_secret

# Cal.com versions each endpoint family by the date in its ``cal-api-version`` header.
ApiVersion = Annotated[str, Field(pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}$")]


class CalAccount(BaseModel):
    """A Cal.com account reached with an API key; no key means not configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    base_url: str = Field(default="https://api.cal.com", pattern=r"^https?://[^\s/?#]+")
    api_key: SecretStr | None = None  # cal_live_... (or cal_... for a test account)
    api_key_file: Path | None = None
    # The versions this connector's requests and answers are written for (Cal.com API v2).
    bookings_api_version: ApiVersion = "2024-08-13"
    slots_api_version: ApiVersion = "2024-09-04"
    # Shown to the attendees of a booking canceled to undo its creation (compensation).
    undo_reason: str = Field(
        default="The booking was withdrawn by the organizer.", min_length=1, max_length=1000
    )

    @property
    def has_key(self) -> bool:
        return bool(self.api_key and self.api_key.get_secret_value()) or bool(self.api_key_file)

    def resolved_api_key(self) -> str | None:
        return read_secret(self.api_key, self.api_key_file)
