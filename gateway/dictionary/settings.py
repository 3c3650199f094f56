"""Where each tenant's business database is, and the reporting currency (``dictionary.*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gateway.dictionary.definitions import dictionary
from gateway.dictionary.sources import POSTGRES_SCHEMES, SQLITE_SCHEMES, scheme_of

DEFAULT_TENANT = "default"


def _usable(url: SecretStr) -> SecretStr:
    """A URL the gateway can open; the refusal never quotes it (it can hold a password)."""
    if scheme_of(url.get_secret_value()) not in SQLITE_SCHEMES | POSTGRES_SCHEMES:
        raise ValueError(
            "a metrics database URL starts with sqlite: (a SQLite file) or postgresql:"
        )
    return url


class DictionarySettings(BaseModel):
    """The business metrics read the tenant's own database (the documented table shapes):
    ``database_url`` is the default tenant's, ``tenant_databases`` names other tenants'. A
    tenant with none is answered METRIC_SOURCE_NOT_CONFIGURED for the business metrics."""

    model_config = ConfigDict(extra="forbid")

    database_url: SecretStr | None = None
    tenant_databases: dict[str, SecretStr] = Field(default_factory=dict)
    currency: str = "USD"  # the reporting currency: ISO 4217, one of the dictionary's
    query_timeout_s: float = Field(default=10.0, gt=0)  # within the call's own deadline

    @field_validator("database_url")
    @classmethod
    def _database_url(cls, value: SecretStr | None) -> SecretStr | None:
        return _usable(value) if value is not None else None

    @field_validator("tenant_databases")
    @classmethod
    def _tenant_databases(cls, value: dict[str, SecretStr]) -> dict[str, SecretStr]:
        return {tenant: _usable(url) for tenant, url in value.items()}

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if dictionary().currency(value) is None:
            known = ", ".join(c.code for c in dictionary().currencies)
            raise ValueError(f"currency must be one of the dictionary's currencies: {known}")
        return value

    def database_for(self, tenant: str) -> str | None:
        """The URL of the tenant's business database, if the deployment names one."""
        url = self.tenant_databases.get(tenant)
        if url is None and tenant == DEFAULT_TENANT:
            url = self.database_url
        return url.get_secret_value() if url is not None else None
