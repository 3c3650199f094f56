"""The settings of one Stripe account: the top-level ``stripe`` (tenant ``default``) and each
``tenants.<name>.stripe``; from the environment as ``CONNECTOR_GATEWAY_STRIPE__<FIELD>``
(``CONNECTOR_GATEWAY_TENANTS__<NAME>__STRIPE__<FIELD>``)."""

from __future__ import annotations

from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, SecretStr

from gateway.credentials import read_secret

# The API version of the OpenAPI description the connector is built and tested against.
DEFAULT_API_VERSION = "2023-08-16"


class StripeAccount(BaseModel):
    """A Stripe account reached with its secret key; without a key it is not configured."""

    model_config = ConfigDict(extra="forbid")  # a misspelt key must not go unnoticed

    api_key: SecretStr | None = Field(
        default=None, description="The secret (sk_...) or restricted (rk_...) API key."
    )
    api_key_file: Path | None = Field(
        default=None, description="A file whose first line is the API key (instead of api_key)."
    )
    base_url: str = Field(
        default="https://api.stripe.com",
        pattern=r"^https?://[^\s/?#]+/?$",
        description="Stripe's API origin; only tests point it elsewhere.",
    )
    api_version: str = Field(
        default=DEFAULT_API_VERSION,
        pattern=r"^[0-9]{4}-[0-9]{2}-[0-9]{2}(\.[a-z]+)?$",
        description="Sent as Stripe-Version on every request, so an account upgrade in the "
        "Dashboard changes nothing here.",
    )
    probe_timeout_s: float = Field(
        default=5.0, gt=0, le=60, description="How long the health probe waits for Stripe."
    )

    @property
    def has_key(self) -> bool:
        return self.api_key is not None or self.api_key_file is not None

    def resolved_api_key(self) -> str | None:
        return read_secret(self.api_key, self.api_key_file)
