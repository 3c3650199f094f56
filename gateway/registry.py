"""The connectors this gateway serves, with their effective policy.

Adapters are registered explicitly by the composition root. Every declared connector appears
in the registry, built or not; one without a working adapter reports ``not_configured``.
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping
from dataclasses import dataclass

from gateway.contract import Adapter, ConnectorMetadata, OperationSpec, PolicyClass


@dataclass(frozen=True)
class Connector:
    adapter: Adapter
    registered: bool  # False for declared connectors whose adapter is not built

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

    def all(self) -> list[Connector]:
        return [self._connectors[k] for k in sorted(self._connectors)]

    def policy_class(self, key: str, operation: OperationSpec) -> PolicyClass:
        return self._policy[(key, operation.name)]
