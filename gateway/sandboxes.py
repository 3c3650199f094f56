"""The sandboxes a gateway runs: which connectors act at their vendor's sandbox, and for
which tenants.

A connector with a sandbox runs sandboxed for exactly the tenants that have no vendor account
of their own in the settings. Its sandbox is started (before the connectors are built) only
when some tenant needs it, and never in enforced mode unless ``sandbox.allow_in_enforced_mode``
says so; the start-up log names what runs sandboxed, or what stays not configured because
enforced mode refused its sandbox.
"""

from __future__ import annotations

import logging
from collections.abc import Iterable, Mapping, Sequence
from typing import Any

from gateway.plugin import ConnectorPlugin
from gateway.sandbox import VendorSandbox
from gateway.settings import Settings

log = logging.getLogger(__name__)


def _named(needed: Mapping[str, Sequence[str]]) -> str:
    """``email (tenants acme, default)``, one entry per connector."""
    return "; ".join(f"{key} (tenants {', '.join(sorted(t))})" for key, t in needed.items())


class Sandboxes:
    """The running sandboxes by connector key; stopped in reverse order, never raising."""

    def __init__(self) -> None:
        self._running: dict[str, VendorSandbox[Any]] = {}

    @property
    def running(self) -> Mapping[str, VendorSandbox[Any]]:
        return self._running

    async def start(
        self, plugins: Iterable[ConnectorPlugin[Any]], settings: Settings, tenants: Iterable[str]
    ) -> None:
        """Starts the sandbox of every connector that some tenant (of the settings, or
        ``tenants``) has no account for. Raises ValueError for a fault configured for a
        connector without a sandbox, or one its sandbox does not understand."""
        config = settings.sandbox
        offered = {plugin.key: plugin for plugin in plugins if plugin.sandbox is not None}
        unknown = sorted(set(config.fail) - set(offered))
        if unknown:
            raise ValueError(
                f"sandbox.fail.{unknown[0]}: no connector {unknown[0]!r} has a sandbox; "
                f"connectors with one: {', '.join(sorted(offered)) or 'none'}"
            )
        known = tuple(tenants)
        needed = {
            key: without
            for key, plugin in offered.items()
            if (without := plugin.without_account(settings, known))
        }
        for key in sorted(set(config.fail) - set(needed)):
            log.warning("sandbox.fail.%s is set, but %s runs sandboxed for no tenant", key, key)
        if not needed:
            return
        enforced = settings.auth.mode == "enforced"
        if enforced and not config.allow_in_enforced_mode:
            log.warning(
                "enforced mode runs no sandbox: %s stay not_configured until their vendor "
                "accounts are configured (sandbox.allow_in_enforced_mode = true would run "
                "them against in-process sandboxes)",
                _named(needed),
            )
            return
        for key in needed:
            factory = offered[key].sandbox
            if factory is None:  # pragma: no cover - only plugins with a sandbox are offered
                continue
            sandbox = factory(config.fail.get(key))
            await sandbox.start()
            self._running[key] = sandbox
        log.log(
            logging.WARNING if enforced else logging.INFO,
            "running sandboxed (in-process stand-ins of the vendors, no vendor is reached): "
            "%s; configure a tenant's vendor account to act at the vendor",
            _named(needed),
        )

    def received(self, key: str, tenant: str) -> list[dict[str, Any]] | None:
        """What ``key``'s sandbox acted on for ``tenant``; None when it runs no sandbox."""
        sandbox = self._running.get(key)
        return None if sandbox is None else sandbox.received(tenant)

    async def stop(self) -> None:
        for key, sandbox in reversed(list(self._running.items())):
            try:
                await sandbox.stop()
            except Exception:
                log.exception("stopping the %s sandbox failed", key)
        self._running.clear()
