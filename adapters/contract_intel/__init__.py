"""The ``contract_intel`` connector: Contract Intelligence, DocuSign eSignature v2.1 and
Navigator."""

from gateway.plugin import ConnectorPlugin

from .account import ContractIntelAccount
from .adapter import ContractIntelAdapter
from .metadata import METADATA

PLUGIN = ConnectorPlugin(METADATA, ContractIntelAccount, ContractIntelAdapter)

__all__ = ["PLUGIN"]
