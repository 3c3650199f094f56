"""A connector as one unit: its contract, the settings of one vendor account, and how an
adapter is built from such an account.

Each vendor folder under ``adapters/`` exports one ``PLUGIN``; ``adapters/plugins.py`` lists
them. The settings model gives each plugin with an account model a place at the top level
(tenant ``default``) and under ``tenants.<name>`` (see ``gateway.settings.settings_model``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol

from pydantic import BaseModel
from typing_extensions import TypeVar

from gateway.contract import Adapter, ConnectorMetadata
from gateway.registry import Connector
from gateway.unconfigured import UnconfiguredAdapter


class AccountSettings(Protocol):
    """What a plugin reads of the settings (``gateway.settings.settings_model`` builds them):
    each tenant's own accounts, and the default tenant's at the top level."""

    @property
    def tenants(self) -> Mapping[str, BaseModel]: ...


DEFAULT_TENANT = "default"

AccountT = TypeVar("AccountT", bound=BaseModel, default=BaseModel)


@dataclass(frozen=True)
class ConnectorPlugin(Generic[AccountT]):
    """A connector's contract and, once its adapter is built, the account model and builder.

    A connector declared before its adapter exists has neither: it is served by
    ``UnconfiguredAdapter`` and reports ``not_configured``.
    """

    metadata: ConnectorMetadata
    account_model: type[AccountT] | None = None
    build: Callable[[AccountT], Adapter] | None = None

    def __post_init__(self) -> None:
        if (self.account_model is None) != (self.build is None):
            raise ValueError(
                f"connector {self.key!r}: give both account_model and build, or neither"
            )

    @property
    def key(self) -> str:
        return self.metadata.key

    def account_of(self, settings: AccountSettings, tenant: str) -> AccountT | None:
        """The tenant's own account, or None: nothing falls back to another tenant's.

        The default tenant's account is the top-level one, unless ``tenants.default`` names
        one of its own."""
        if self.account_model is None:
            return None
        holders: list[object] = []
        if tenant in settings.tenants:
            holders.append(settings.tenants[tenant])
        if tenant == DEFAULT_TENANT:
            holders.append(settings)
        for holder in holders:
            if self.key not in getattr(type(holder), "model_fields", {}):
                raise ValueError(
                    f"the settings have no place for the {self.key!r} account: build their "
                    "model with gateway.settings.settings_model(plugins)"
                )
            account = getattr(holder, self.key)
            if isinstance(account, self.account_model):
                return account
        return None

    def connector(self, settings: AccountSettings) -> Connector:
        """One adapter per tenant that has an account of its own; the stand-in when the
        adapter is not built."""
        if self.build is None:
            return Connector(UnconfiguredAdapter(self.metadata), registered=False)
        tenants: dict[str, Adapter] = {}
        for tenant in dict.fromkeys((DEFAULT_TENANT, *settings.tenants)):
            account = self.account_of(settings, tenant)
            if account is not None:
                tenants[tenant] = self.build(account)
        # The contract is declared even when the default tenant has no account.
        declaring = tenants.get(DEFAULT_TENANT) or UnconfiguredAdapter(self.metadata)
        return Connector(declaring, registered=True, tenants=tenants)


def build_connectors(
    settings: AccountSettings, plugins: Iterable[ConnectorPlugin[Any]]
) -> list[Connector]:
    """Every plugin's connector, with an adapter per tenant that has an account."""
    return [plugin.connector(settings) for plugin in plugins]
