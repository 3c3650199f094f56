"""Configured credentials: read them once, and keep them out of every error."""

from __future__ import annotations

from collections.abc import Iterable
from pathlib import Path

from pydantic import SecretStr

from gateway.errors import GatewayError


def read_secret(value: SecretStr | None, file: Path | None) -> str | None:
    """The secret given directly, else the first line of its file, else None."""
    if value is not None and value.get_secret_value():
        return value.get_secret_value()
    if file is not None:
        return file.read_text(encoding="utf-8").strip() or None
    return None


def scrub(error: GatewayError, secrets: Iterable[str | None]) -> GatewayError:
    """No credential survives in an error's message or metadata, even if a vendor echoed it.

    Longer secrets go first, so that a secret containing another is replaced whole."""
    for secret in sorted({s for s in secrets if s}, key=len, reverse=True):
        if secret in error.message:
            error.message = error.message.replace(secret, "***")
        for key, value in error.metadata.items():
            if secret in value:
                error.metadata[key] = value.replace(secret, "***")
    error.args = (error.message,)
    return error
