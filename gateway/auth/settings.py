"""Settings of caller authentication; the gateway's ``Settings`` holds them as ``auth``.

Every path names a file whose contents may be secret (HMAC secrets, the server's private key):
the settings keep only the paths, and nothing here ever logs what the files contain.
"""

from __future__ import annotations

from pathlib import Path
from typing import Literal

from pydantic import BaseModel, ConfigDict, Field, model_validator

JwtAlgorithm = Literal["RS256", "ES256", "EdDSA", "HS256"]


class JwtKey(BaseModel):
    """One key that may sign bearer tokens.

    ``path`` is a PEM public key (or a PEM certificate holding one) for RS256, ES256 and
    EdDSA, or a file holding the shared secret (at least 32 bytes) for HS256. A token whose
    header names a ``kid`` is verified by the key with that ``kid`` only, or, when no key has
    it, by the keys without a ``kid``; a token without a ``kid`` by every key of its ``alg``.
    A key is only ever used with its own algorithm.
    """

    model_config = ConfigDict(extra="forbid")

    path: Path
    algorithm: JwtAlgorithm
    kid: str | None = Field(default=None, min_length=1)


class JwtSettings(BaseModel):
    """Bearer tokens (JWT) accepted from callers. Operators come from the policy, not tokens."""

    model_config = ConfigDict(extra="forbid")

    issuer: str = Field(min_length=1)
    audience: str = Field(min_length=1)
    keys: list[JwtKey] = Field(min_length=1)
    leeway_s: float = Field(default=30, ge=0, le=300)
    tenant_claim: str = Field(default="tenant", min_length=1)

    @model_validator(mode="after")
    def _kids_are_unique(self) -> JwtSettings:
        kids = [key.kid for key in self.keys if key.kid is not None]
        duplicates = sorted({kid for kid in kids if kids.count(kid) > 1})
        if duplicates:
            raise ValueError(f"auth.jwt.keys: kid {', '.join(duplicates)} is given twice")
        return self


class TlsSettings(BaseModel):
    """The server's certificate; with ``client_ca_file``, callers must present a certificate
    issued by that CA (mutual TLS) and the certificate names the caller."""

    model_config = ConfigDict(extra="forbid")

    cert_file: Path
    key_file: Path
    client_ca_file: Path | None = None


class AuthSettings(BaseModel):
    """How callers prove who they are.

    ``development`` (the default) lets calls without credentials through as ``dev_caller``
    and is refused on any address that is not loopback; ``enforced`` requires a bearer token
    or a client certificate on every call, checked against the policy in ``policy_file``.
    """

    model_config = ConfigDict(extra="forbid")

    mode: Literal["development", "enforced"] = "development"
    jwt: JwtSettings | None = None
    tls: TlsSettings | None = None
    policy_file: Path | None = None
    dev_caller: str = Field(default="local-agent", min_length=1)
    dev_operator: str = Field(default="local-operator", min_length=1)
    # Enforced mode on a non-loopback address without ``tls``: allowed only when a proxy or
    # mesh in front of the gateway terminates TLS, since bearer tokens would travel in clear.
    tls_terminated_upstream: bool = False

    @model_validator(mode="after")
    def _dev_identities_differ(self) -> AuthSettings:
        if self.dev_caller == self.dev_operator:
            raise ValueError(
                "auth.dev_caller and auth.dev_operator must differ: an operator may not "
                "approve its own calls"
            )
        return self

    @property
    def mtls(self) -> bool:
        """Whether client certificates are required and identify callers."""
        return self.tls is not None and self.tls.client_ca_file is not None
