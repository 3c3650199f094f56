"""The ``email`` connector: sends messages through an SMTP relay (RFC 5321)."""

from .adapter import EmailAdapter
from .metadata import EMAIL_METADATA
from .operations import SendEmail

__all__ = ["EMAIL_METADATA", "EmailAdapter", "SendEmail"]
