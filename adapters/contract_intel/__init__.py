"""The ``contract_intel`` connector: Contract Intelligence (DocuSign eSignature v2.1 + Navigator).

Its contract is declared; its adapter is not built yet, so it reports ``not_configured`` and
refuses every call.
"""

from gateway.plugin import ConnectorPlugin

from .metadata import METADATA

PLUGIN = ConnectorPlugin(METADATA)

__all__ = ["PLUGIN"]
