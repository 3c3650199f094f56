"""The key that anchors the audit chain's head (HMAC)."""

from __future__ import annotations

import logging
import os
import secrets
from pathlib import Path

from gateway.credentials import read_secret
from gateway.settings import Settings

log = logging.getLogger(__name__)

DEV_KEY_FILE = "audit-anchor.key"
# RFC 2104 and RFC 7518 3.2: an HMAC-SHA256 key shorter than its 32-byte output weakens it.
MIN_ANCHOR_KEY_BYTES = 32


def load_anchor_key(settings: Settings, *, create: bool) -> bytes:
    """The configured key; else a development key kept under the data directory.

    A configured key shorter than ``MIN_ANCHOR_KEY_BYTES`` raises ValueError naming the
    setting (never the key). A generated key protects against accidental edits, not against
    someone who can read the data directory: production deployments configure
    ``audit.anchor_key_file``.
    """
    audit = settings.audit
    configured = read_secret(audit.anchor_key, audit.anchor_key_file)
    if configured:
        key = configured.encode()
        if len(key) < MIN_ANCHOR_KEY_BYTES:
            setting = (
                "audit.anchor_key"
                if audit.anchor_key is not None and audit.anchor_key.get_secret_value()
                else f"audit.anchor_key_file {audit.anchor_key_file}"
            )
            raise ValueError(
                f"{setting} is {len(key)} bytes; the audit anchor key must be at least "
                f"{MIN_ANCHOR_KEY_BYTES} bytes of secret (for example the output of "
                "`openssl rand -hex 32`)"
            )
        return key
    path = settings.data_dir / DEV_KEY_FILE
    if path.exists():
        return path.read_text(encoding="utf-8").strip().encode()
    if not create:
        raise FileNotFoundError(f"no audit anchor key configured and no development key at {path}")
    _write_private(path, secrets.token_hex(32))
    log.warning(
        "generated a development audit anchor key at %s; configure "
        "CONNECTOR_GATEWAY_AUDIT__ANCHOR_KEY_FILE in production",
        path,
    )
    return path.read_text(encoding="utf-8").strip().encode()


def _write_private(path: Path, text: str) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as handle:
        handle.write(text + "\n")
