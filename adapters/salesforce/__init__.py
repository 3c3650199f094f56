"""The ``salesforce`` connector: Salesforce CRM (REST API sObject rows).

Its contract is declared; its adapter is not built yet, so it reports ``not_configured`` and
refuses every call.
"""

from gateway.plugin import ConnectorPlugin

from .metadata import METADATA

PLUGIN = ConnectorPlugin(METADATA)

__all__ = ["PLUGIN"]
