"""Signing in from a browser in development mode.

A browser is never let in as the implicit development caller: any web page could make it
send requests to loopback. Instead, at start-up the gateway makes a one-time login token,
writes it (with its URL) to a file only the gateway's user may read, and logs the URL.
Opening the URL exchanges the token for a session cookie (HttpOnly, SameSite=Strict, signed
with a secret of this process, with an expiry) that acts as the development operator. The
token then changes and the file is rewritten, so every token works once;
``connector-gateway login-url`` prints the current URL.
"""

from __future__ import annotations

import asyncio
import contextlib
import hmac
import json
import os
import secrets
from pathlib import Path

from gateway.errors import LoginTokenInvalid, SessionInvalid
from gateway.http.signed import SignedTokens

LOGIN_FILE = "http-login.json"
LOGIN_PATH = "/login"
SESSION_COOKIE = "connector_gateway_session"


def login_file(data_dir: Path) -> Path:
    return data_dir / LOGIN_FILE


def read_login_url(data_dir: Path) -> str:
    """The current login URL of the gateway using ``data_dir``; raises OSError or ValueError
    when there is none."""
    content = json.loads(login_file(data_dir).read_text(encoding="utf-8"))
    url = content.get("url") if isinstance(content, dict) else None
    if not isinstance(url, str):
        raise ValueError(f"{login_file(data_dir)} holds no login URL")
    return url


def _write_private(path: Path, text: str) -> None:
    """Replaces ``path`` with ``text``, readable by this user only (0600) from the start."""
    path.parent.mkdir(parents=True, exist_ok=True)
    partial = path.with_name(path.name + ".partial")
    with contextlib.suppress(FileNotFoundError):
        partial.unlink()
    fd = os.open(partial, os.O_WRONLY | os.O_CREAT | os.O_EXCL, 0o600)
    with os.fdopen(fd, "w", encoding="utf-8") as file:
        file.write(text)
    os.replace(partial, path)


class SignIn:
    """The one-time login token, its file, and the session cookies it is exchanged for."""

    def __init__(self, data_dir: Path, *, caller: str, session_ttl_s: float) -> None:
        self._path = login_file(data_dir)
        self._base_url = ""
        self.caller = caller
        self._sessions = SignedTokens("session", session_ttl_s)
        self._token = secrets.token_urlsafe(32)
        self._write_lock = asyncio.Lock()

    def serve_at(self, base_url: str) -> None:
        """Sets where the HTTP side listens (``scheme://host:port``), once it is bound."""
        self._base_url = base_url

    @property
    def url(self) -> str:
        return f"{self._base_url}{LOGIN_PATH}?token={self._token}"

    @property
    def session_ttl_s(self) -> float:
        return self._sessions.ttl_s

    async def publish(self) -> None:
        """Writes the current token and URL to the login file."""
        async with self._write_lock:  # the last write holds the newest token
            content = json.dumps({"url": self.url, "token": self._token})
            await asyncio.to_thread(_write_private, self._path, content + "\n")

    async def withdraw(self) -> None:
        """Removes the login file: its token dies with this process."""
        async with self._write_lock:
            await asyncio.to_thread(self._path.unlink, missing_ok=True)

    async def redeem(self, offered: str) -> str:
        """A session cookie for a valid token, which is then replaced (and the file
        rewritten); raises LoginTokenInvalid otherwise."""
        expected = self._token.encode("ascii")
        if not hmac.compare_digest(offered.encode("utf-8", "replace"), expected):
            raise LoginTokenInvalid(
                "the login token is wrong or was already used: `connector-gateway login-url` "
                "prints the current login link"
            )
        self._token = secrets.token_urlsafe(32)  # before any await: a token works once
        await self.publish()
        return self._sessions.issue(self.caller)

    def session_caller(self, cookie: str) -> str:
        """The caller a session cookie stands for; raises SessionInvalid for a cookie this
        process did not issue or that expired."""
        if not self._sessions.valid(self.caller, cookie):
            raise SessionInvalid(
                f"the {SESSION_COOKIE} cookie is expired, forged or from an earlier run of the "
                "gateway: sign in again with the login link (`connector-gateway login-url`)"
            )
        return self.caller
