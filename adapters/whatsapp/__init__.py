"""The ``whatsapp`` connector: WhatsApp Business (Meta Cloud API)."""

from gateway.plugin import ConnectorPlugin

from .account import WhatsAppAccount
from .adapter import WhatsAppAdapter
from .metadata import METADATA
from .sandbox import WhatsAppSandbox

PLUGIN = ConnectorPlugin(METADATA, WhatsAppAccount, WhatsAppAdapter, WhatsAppSandbox)

__all__ = ["PLUGIN"]
