"""Operators' switches: which connectors are disabled for which tenant.

The calls' path asks on every call, so the answer comes from memory. It is written through
to ``connector_disablements`` before it changes (a disablement lasts across restarts), and
``reload`` reads the table again for what other processes sharing the database changed.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import datetime

from gateway.clock import utc_now
from gateway.store.disablements import Disablement, DisablementStore

Key = tuple[str, str]  # (tenant, connector key)
Changed = Callable[[str, str], Awaitable[None]]


async def _nothing(_tenant: str, _key: str) -> None:
    return None


class ConnectorSwitches:
    def __init__(
        self,
        store: DisablementStore,
        *,
        clock: Callable[[], datetime] = utc_now,
        changed: Changed = _nothing,
    ) -> None:
        self._store = store
        self._clock = clock
        self._disabled: dict[Key, Disablement] = {}
        self.changed = changed  # told of each (tenant, connector) switched, here or elsewhere

    def disabled(self, tenant: str, key: str) -> Disablement | None:
        return self._disabled.get((tenant, key))

    async def reload(self) -> None:
        """Reads every disablement; tells ``changed`` of each one that differs."""
        current = {(d.tenant, d.connector_key): d for d in await self._store.all()}
        previous, self._disabled = self._disabled, current
        for where in sorted(previous.keys() ^ current.keys()):
            await self.changed(*where)

    async def disable(self, tenant: str, key: str, reason: str, by: str) -> Disablement:
        disablement = Disablement(tenant, key, reason, by, self._clock())
        await self._store.put(disablement)
        self._disabled[(tenant, key)] = disablement
        await self.changed(tenant, key)
        return disablement

    async def enable(self, tenant: str, key: str) -> bool:
        """Whether the connector was disabled."""
        was = await self._store.delete(tenant, key)
        self._disabled.pop((tenant, key), None)
        await self.changed(tenant, key)
        return was
