"""The connectors this gateway serves, with their effective policy.

Adapters are registered explicitly by the composition root. Every declared connector appears
in the registry, built or not; one without a working adapter reports ``not_configured``.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Mapping
from dataclasses import dataclass, field

from gateway.contract import Adapter, ConnectorMetadata, OperationSpec, PolicyClass
from gateway.errors import ConnectorNotFound


@dataclass(frozen=True)
class Connector:
    """A declared connector and the adapters that act for each tenant.

    ``tenants`` maps a tenant to the adapter holding that tenant's own vendor account, so one
    tenant's call can never act with another's; a tenant missing from it is not configured.
    Without ``tenants`` the one adapter serves every tenant (fakes in tests, and connectors
    whose adapter is not built). ``sandboxed`` names the tenants whose adapter acts at the
    vendor's sandbox rather than at the vendor (``gateway.sandbox``).
    """

    adapter: Adapter  # declares the contract; serves every tenant when ``tenants`` is None
    registered: bool  # False for declared connectors whose adapter is not built
    tenants: Mapping[str, Adapter] | None = field(default=None)
    sandboxed: frozenset[str] = frozenset()

    def adapter_for(self, tenant: str) -> Adapter | None:
        if self.tenants is None:
            return self.adapter
        return self.tenants.get(tenant)

    def configured_for(self, tenant: str) -> bool:
        adapter = self.adapter_for(tenant)
        return self.registered and adapter is not None and adapter.configured

    def sandboxed_for(self, tenant: str) -> bool:
        """Whether the tenant's calls reach the vendor's sandbox, not the vendor."""
        return tenant in self.sandboxed

    def all_adapters(self) -> Iterator[tuple[str, Adapter]]:
        """Every adapter with the tenant it serves ('*' for a shared one)."""
        if self.tenants is None:
            yield "*", self.adapter
        else:
            yield from self.tenants.items()

    @property
    def metadata(self) -> ConnectorMetadata:
        return self.adapter.metadata

    @property
    def key(self) -> str:
        return self.adapter.metadata.key


class Registry:
    def __init__(
        self,
        connectors: Iterable[Connector],
        *,
        policy_overrides: Mapping[str, PolicyClass] | None = None,
        allow_loosening: bool = False,
    ) -> None:
        self._connectors: dict[str, Connector] = {}
        for connector in connectors:
            connector.metadata.validate()
            if connector.key in self._connectors:
                raise ValueError(f"connector {connector.key!r} is registered twice")
            self._connectors[connector.key] = connector
        self._policy = self._effective_policy(policy_overrides or {}, allow_loosening)

    def _effective_policy(
        self, overrides: Mapping[str, PolicyClass], allow_loosening: bool
    ) -> dict[tuple[str, str], PolicyClass]:
        policy = {
            (c.key, op.name): op.policy_class
            for c in self._connectors.values()
            for op in c.metadata.operations
        }
        for name, wanted in overrides.items():
            key, _, operation = name.partition(".")
            declared = policy.get((key, operation))
            if declared is None:
                raise ValueError(f"policy override {name!r} names no known operation")
            if wanted.strictness < declared.strictness:
                if declared is PolicyClass.C:
                    raise ValueError(f"policy override {name!r} would loosen class C")
                if not allow_loosening:
                    raise ValueError(
                        f"policy override {name!r} loosens class {declared} to {wanted}; "
                        "only a local development configuration (policy.allow_loosening) may"
                    )
            policy[(key, operation)] = wanted
        return policy

    def get(self, key: str) -> Connector | None:
        return self._connectors.get(key)

    def require(self, key: str) -> Connector:
        """The connector validation resolved; CONNECTOR_NOT_FOUND if there is none."""
        connector = self._connectors.get(key)
        if connector is None:
            known = ", ".join(sorted(self._connectors))
            raise ConnectorNotFound(
                f"no connector {key!r}; known connectors: {known}",
                metadata={"connector_key": key},
            )
        return connector

    def all(self) -> list[Connector]:
        return [self._connectors[k] for k in sorted(self._connectors)]

    def policy_class(self, key: str, operation: OperationSpec) -> PolicyClass:
        return self._policy[(key, operation.name)]
