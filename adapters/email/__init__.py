"""The ``email`` connector: sends messages through an SMTP relay (RFC 5321)."""

from gateway.plugin import ConnectorPlugin

from .account import EmailAccount
from .adapter import EmailAdapter
from .metadata import EMAIL_METADATA
from .sandbox import EmailSandbox

PLUGIN = ConnectorPlugin(EMAIL_METADATA, EmailAccount, EmailAdapter, EmailSandbox)

__all__ = ["PLUGIN"]
