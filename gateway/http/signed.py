"""Short tokens bound to one subject and an expiry, signed with a secret of this process.

CSRF tokens and development sign-in cookies are both such tokens. Whatever else a caller
sends in their place (another shape, non-ASCII text, thousands of digits) is simply not
valid: checking a token never raises.
"""

from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from collections.abc import Callable

_SHAPE = re.compile(r"\A([0-9]{1,12})\.([0-9a-f]{64})\Z")
_MAX_LENGTH = 80


class SignedTokens:
    def __init__(
        self, purpose: str, ttl_s: float, *, clock: Callable[[], float] = time.time
    ) -> None:
        self._purpose = purpose
        self._ttl_s = ttl_s
        self._clock = clock
        self._secret = secrets.token_bytes(32)

    @property
    def ttl_s(self) -> float:
        return self._ttl_s

    def _mac(self, subject: str, expires: int) -> str:
        # Lengths first, so that no two (purpose, subject) pairs sign the same text.
        text = f"{len(self._purpose)}:{self._purpose}:{len(subject)}:{subject}:{expires}"
        message = text.encode("utf-8", "surrogatepass")
        return hmac.new(self._secret, message, hashlib.sha256).hexdigest()

    def issue(self, subject: str) -> str:
        expires = int(self._clock() + self._ttl_s)
        return f"{expires}.{self._mac(subject, expires)}"

    def valid(self, subject: str, token: str) -> bool:
        """Whether ``token`` was issued by this process for ``subject`` and has not expired."""
        shape = _SHAPE.match(token) if len(token) <= _MAX_LENGTH else None
        if shape is None:
            return False
        expires = int(shape.group(1))
        if expires < self._clock():
            return False
        return hmac.compare_digest(shape.group(2), self._mac(subject, expires))
