"""One account at the notes service: where it is and the key that opens it."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, SecretStr


class ToyAccount(BaseModel):
    model_config = ConfigDict(extra="forbid")  # a mistyped setting stops the load

    base_url: str
    api_key: SecretStr
