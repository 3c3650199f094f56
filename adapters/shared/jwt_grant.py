"""The assertion of the OAuth 2.0 JWT bearer grant (RFC 7523), as Salesforce and DocuSign
take it: signed with RS256 by the account's private key, valid for a few minutes."""

from __future__ import annotations

import time
import uuid

import jwt

GRANT_TYPE = "urn:ietf:params:oauth:grant-type:jwt-bearer"
ASSERTION_LIFETIME_S = 180  # Salesforce allows at most 3 minutes; DocuSign up to an hour


def jwt_assertion(
    *,
    issuer: str,
    subject: str,
    audience: str,
    private_key_pem: str,
    scope: str | None = None,
    lifetime_s: int = ASSERTION_LIFETIME_S,
) -> str:
    """A signed assertion; ``scope`` only where the vendor asks for one (DocuSign)."""
    now = int(time.time())
    claims: dict[str, object] = {
        "iss": issuer,
        "sub": subject,
        "aud": audience,
        "iat": now,
        "exp": now + lifetime_s,
        "jti": uuid.uuid4().hex,
    }
    if scope:
        claims["scope"] = scope
    return jwt.encode(claims, private_key_pem, algorithm="RS256")
