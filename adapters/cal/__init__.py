"""The ``cal`` connector: Cal.com Scheduling (API v2): free slots, bookings, cancellations
and reschedules."""

from gateway.plugin import ConnectorPlugin

from .account import CalAccount
from .adapter import CalAdapter
from .metadata import METADATA
from .sandbox import CalSandbox

PLUGIN = ConnectorPlugin(METADATA, CalAccount, CalAdapter, CalSandbox)

__all__ = ["PLUGIN"]
