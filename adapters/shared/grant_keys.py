"""The token endpoint's side of the JWT bearer grant (RFC 7523), for the vendors' sandboxes.

Each sandbox account gets a key pair of its own, made in memory when the account is handed out
(never written anywhere, never logged): the account carries the private half, as a vendor's
connected app would hold the certificate's key, and the sandbox keeps the public half under
the assertion's issuer (a consumer key, an integration key). ``GrantKeys.verify`` checks an
assertion as the vendor's token endpoint does: known issuer, RS256 signature, audience,
subject, expiry, and at most the vendor's lifetime.
"""

from __future__ import annotations

import time
from dataclasses import dataclass, field
from typing import Any, Literal

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

KEY_BITS = 2048


Refusal = Literal["unknown_issuer", "bad_assertion", "wrong_subject", "too_long"]


class AssertionRefused(Exception):
    """The token endpoint refuses the assertion; ``reason`` says why, for the vendor's own
    words (an unknown client, a bad signature or audience, a subject the client may not act
    as, a lifetime over the vendor's limit)."""

    def __init__(self, reason: Refusal, description: str) -> None:
        super().__init__(description)
        self.reason: Refusal = reason
        self.description = description


@dataclass(frozen=True)
class GrantKey:
    """One sandbox account's grant: who signs (issuer, subject) and with which key."""

    tenant: str
    issuer: str
    subject: str
    private_pem: str = field(repr=False)
    public_key: rsa.RSAPublicKey = field(repr=False)

    @classmethod
    def generate(cls, tenant: str, *, issuer: str, subject: str) -> GrantKey:
        key = rsa.generate_private_key(public_exponent=65537, key_size=KEY_BITS)
        pem = key.private_bytes(
            serialization.Encoding.PEM,
            serialization.PrivateFormat.PKCS8,
            serialization.NoEncryption(),
        ).decode()
        return cls(tenant, issuer, subject, pem, key.public_key())


class GrantKeys:
    """The sandbox's grants by issuer."""

    def __init__(self) -> None:
        self._by_issuer: dict[str, GrantKey] = {}

    def add(self, key: GrantKey) -> GrantKey:
        self._by_issuer[key.issuer] = key
        return key

    def verify(
        self, assertion: str, *, audience: str, max_lifetime_s: int | None = None
    ) -> tuple[GrantKey, dict[str, Any]]:
        """The grant that signed ``assertion`` and its claims, or ``AssertionRefused``."""
        try:
            unverified = jwt.decode(assertion, options={"verify_signature": False})
        except jwt.PyJWTError:
            raise AssertionRefused("bad_assertion", "the assertion is not a signed JWT") from None
        key = self._by_issuer.get(str(unverified.get("iss", "")))
        if key is None:
            raise AssertionRefused("unknown_issuer", "no client has this issuer")
        try:
            claims: dict[str, Any] = jwt.decode(
                assertion,
                key.public_key,
                algorithms=["RS256"],
                audience=audience,
                issuer=key.issuer,
                options={"require": ["iss", "sub", "aud", "exp"]},
            )
        except jwt.PyJWTError as exc:
            raise AssertionRefused(
                "bad_assertion", f"invalid assertion ({type(exc).__name__})"
            ) from None
        if claims["sub"] != key.subject:
            raise AssertionRefused("wrong_subject", "the subject has not approved this client")
        if max_lifetime_s is not None and float(claims["exp"]) - time.time() > max_lifetime_s:
            raise AssertionRefused(
                "too_long", f"the assertion is valid for more than {max_lifetime_s}s"
            )
        return key, claims
