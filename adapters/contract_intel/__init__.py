"""The ``contract_intel`` connector: Contract Intelligence, DocuSign eSignature v2.1 and
Navigator."""

from gateway.plugin import ConnectorPlugin

from .account import ContractIntelAccount
from .adapter import ContractIntelAdapter
from .metadata import METADATA
from .sandbox import ContractIntelSandbox

PLUGIN = ConnectorPlugin(METADATA, ContractIntelAccount, ContractIntelAdapter, ContractIntelSandbox)

__all__ = ["PLUGIN"]
