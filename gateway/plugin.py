"""A connector as one unit: its contract, the settings of one vendor account, how an
adapter is built from such an account, and optionally a sandbox of its vendor.

Each vendor folder under ``adapters/`` exports one ``PLUGIN``; ``adapters/plugins.py`` lists
them. The settings model gives each plugin with an account model a place at the top level
(tenant ``default``) and under ``tenants.<name>`` (see ``gateway.settings.settings_model``).
A tenant without an account of its own acts at the plugin's sandbox when the gateway runs
one (``gateway.sandbox``, ``gateway.sandboxes``).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass
from typing import Any, Generic, Protocol

from pydantic import BaseModel
from typing_extensions import TypeVar

from gateway.contract import Adapter, ConnectorMetadata
from gateway.registry import Connector
from gateway.sandbox import SandboxFault, VendorSandbox
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
    ``UnconfiguredAdapter`` and reports ``not_configured``. ``sandbox`` makes the vendor's
    sandbox from the fault configured for it (``sandbox.fail.<key>``, or None); its accounts
    are of ``account_model`` and go to ``build`` like any other.
    """

    metadata: ConnectorMetadata
    account_model: type[AccountT] | None = None
    build: Callable[[AccountT], Adapter] | None = None
    sandbox: Callable[[SandboxFault | None], VendorSandbox[AccountT]] | None = None

    def __post_init__(self) -> None:
        if (self.account_model is None) != (self.build is None):
            raise ValueError(
                f"connector {self.key!r}: give both account_model and build, or neither"
            )
        if self.sandbox is not None and self.build is None:
            raise ValueError(f"connector {self.key!r}: a sandbox needs an adapter to act at it")

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

    def without_account(self, settings: AccountSettings, tenants: Iterable[str] = ()) -> list[str]:
        """The tenants (the settings' and ``tenants``) that have no account of their own."""
        if self.account_model is None:
            return []
        return [
            tenant
            for tenant in known_tenants(settings, tenants)
            if self.account_of(settings, tenant) is None
        ]

    def connector(
        self,
        settings: AccountSettings,
        tenants: Iterable[str] = (),
        sandbox: VendorSandbox[AccountT] | None = None,
    ) -> Connector:
        """One adapter per tenant that has an account of its own, and with a running
        ``sandbox``, one acting at it for each other tenant (the settings' and ``tenants``);
        the stand-in when the adapter is not built."""
        if self.build is None:
            return Connector(UnconfiguredAdapter(self.metadata), registered=False)
        adapters: dict[str, Adapter] = {}
        sandboxed: set[str] = set()
        for tenant in known_tenants(settings, tenants):
            account = self.account_of(settings, tenant)
            if account is None and sandbox is not None:
                account = sandbox.account_for(tenant)
                sandboxed.add(tenant)
            if account is not None:
                adapters[tenant] = self.build(account)
        # The contract is declared even when the default tenant has no account.
        declaring = adapters.get(DEFAULT_TENANT) or UnconfiguredAdapter(self.metadata)
        return Connector(
            declaring, registered=True, tenants=adapters, sandboxed=frozenset(sandboxed)
        )


def known_tenants(settings: AccountSettings, tenants: Iterable[str] = ()) -> list[str]:
    """The default tenant, those with settings of their own, then ``tenants``, each once."""
    return list(dict.fromkeys((DEFAULT_TENANT, *settings.tenants, *tenants)))


def build_connectors(
    settings: AccountSettings,
    plugins: Iterable[ConnectorPlugin[Any]],
    *,
    tenants: Iterable[str] = (),
    sandboxes: Mapping[str, VendorSandbox[Any]] | None = None,
) -> list[Connector]:
    """Every plugin's connector, with an adapter per tenant that has an account, and one per
    other tenant acting at the plugin's sandbox where ``sandboxes`` has one running."""
    known = tuple(tenants)
    running = sandboxes or {}
    return [plugin.connector(settings, known, running.get(plugin.key)) for plugin in plugins]
