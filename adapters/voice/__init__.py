"""The ``voice`` connector: Twilio Voice (Calls resource, API 2010-04-01)."""

from gateway.plugin import ConnectorPlugin

from .account import VoiceAccount
from .adapter import VoiceAdapter
from .metadata import METADATA
from .sandbox import VoiceSandbox

PLUGIN = ConnectorPlugin(METADATA, VoiceAccount, VoiceAdapter, VoiceSandbox)

__all__ = ["PLUGIN"]
