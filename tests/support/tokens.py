"""Bearer tokens and an authorization policy for tests of the enforced mode."""

from __future__ import annotations

import time
from dataclasses import dataclass
from pathlib import Path
from typing import Any

import jwt
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import rsa

ISSUER = "https://issuer.test"
AUDIENCE = "connector-gateway"


def caller(subject: str) -> str:
    """The caller id of a token of the test issuer with this subject."""
    return f"jwt:{ISSUER}#{subject}"


POLICY = f"""
[callers."{caller("agent-acme")}"]
tenant = "acme"
allow = ["fake.*", "faulty.*"]

[callers."{caller("agent-globex")}"]
tenant = "globex"
allow = ["fake.*", "faulty.*"]

[callers."{caller("ops-acme")}"]
tenant = "acme"
allow = ["fake.*"]
operator = true

[callers."{caller("ops-globex")}"]
tenant = "globex"
allow = []
operator = true

[callers."{caller("agent-mail-only")}"]
tenant = "acme"
allow = ["email.*"]
"""


@dataclass
class TokenKit:
    """An RSA signing key whose public half the gateway trusts, and the policy file."""

    private_key: rsa.RSAPrivateKey
    public_key_file: Path
    policy_file: Path

    def token(self, subject: str, **overrides: Any) -> str:
        now = int(time.time())
        claims: dict[str, Any] = {
            "iss": ISSUER,
            "aud": AUDIENCE,
            "sub": subject,
            "iat": now,
            "exp": now + 300,
        }
        claims.update(overrides)
        return jwt.encode(claims, self.private_key, algorithm="RS256")

    def metadata(self, subject: str, **overrides: Any) -> tuple[tuple[str, str], ...]:
        return (("authorization", f"Bearer {self.token(subject, **overrides)}"),)

    def auth_settings(self) -> dict[str, Any]:
        return {
            "mode": "enforced",
            "policy_file": str(self.policy_file),
            "jwt": {
                "issuer": ISSUER,
                "audience": AUDIENCE,
                "keys": [{"path": str(self.public_key_file), "algorithm": "RS256"}],
                "leeway_s": 0,
            },
        }


def token_kit(directory: Path) -> TokenKit:
    key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    public = directory / "issuer.pub.pem"
    public.write_bytes(
        key.public_key().public_bytes(
            serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
        )
    )
    policy = directory / "policy.toml"
    policy.write_text(POLICY, encoding="utf-8")
    return TokenKit(key, public, policy)


def forged_token(subject: str) -> str:
    """Signed by a key the gateway does not trust."""
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    now = int(time.time())
    return jwt.encode(
        {"iss": ISSUER, "aud": AUDIENCE, "sub": subject, "iat": now, "exp": now + 300},
        other,
        algorithm="RS256",
    )
