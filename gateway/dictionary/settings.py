"""Where each tenant's business database is, and the reporting currency (``dictionary.*``)."""

from __future__ import annotations

from pydantic import BaseModel, ConfigDict, Field, SecretStr, field_validator

from gateway.dictionary.definitions import dictionary
from gateway.dictionary.sources import POSTGRES_SCHEMES, SQLITE_SCHEMES, scheme_of

USABLE_SCHEMES = SQLITE_SCHEMES | POSTGRES_SCHEMES

DEFAULT_TENANT = "default"


class DictionarySettings(BaseModel):
    """The business metrics read the tenant's own database (the documented table shapes):
    ``database_url`` is the default tenant's, ``tenant_databases`` names other tenants'. A
    tenant with none is answered METRIC_SOURCE_NOT_CONFIGURED for the business metrics."""

    model_config = ConfigDict(extra="forbid")

    database_url: SecretStr | None = None
    tenant_databases: dict[str, SecretStr] = Field(default_factory=dict)
    currency: str = "USD"  # the reporting currency: ISO 4217, one of the dictionary's
    query_timeout_s: float = Field(default=10.0, gt=0)  # within the call's own deadline

    @field_validator("currency")
    @classmethod
    def _known_currency(cls, value: str) -> str:
        if dictionary().currency(value) is None:
            known = ", ".join(c.code for c in dictionary().currencies)
            raise ValueError(f"currency must be one of the dictionary's currencies: {known}")
        return value

    def check_urls(self) -> None:
        """Refuses, at start-up, a URL the gateway cannot open. Checked here rather than by
        the model: a model's refusal quotes the value given, and a URL can hold a password."""
        named = {"dictionary.database_url": self.database_url} | {
            f"dictionary.tenant_databases.{tenant}": url
            for tenant, url in self.tenant_databases.items()
        }
        for key, url in named.items():
            if url is not None and scheme_of(url.get_secret_value()) not in USABLE_SCHEMES:
                raise ValueError(
                    f"{key}: a metrics database URL starts with sqlite: (a SQLite file) or "
                    "postgresql:"
                )

    def database_for(self, tenant: str) -> str | None:
        """The URL of the tenant's business database, if the deployment names one."""
        url = self.tenant_databases.get(tenant)
        if url is None and tenant == DEFAULT_TENANT:
            url = self.database_url
        return url.get_secret_value() if url is not None else None
