"""Bearer tokens: JWTs verified against the keys named in ``auth.jwt``.

The keys are loaded once, at start-up, and a bad key file stops the start with a message that
names the file and the problem, never its contents. Each key is bound to one algorithm: the
``alg`` a token claims only chooses among the keys of that algorithm, so an HMAC secret is
never used to check an RS256 signature, nor a public key as an HMAC secret (the classic
algorithm-confusion attack), and ``none`` is never accepted.

Error messages tell the caller what to do and never contain the token.
"""

from __future__ import annotations

import math
from collections import OrderedDict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

import jwt
from cryptography import x509
from cryptography.exceptions import UnsupportedAlgorithm
from cryptography.hazmat.primitives.asymmetric.ec import SECP256R1, EllipticCurvePublicKey
from cryptography.hazmat.primitives.asymmetric.ed448 import Ed448PublicKey
from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PublicKey
from cryptography.hazmat.primitives.asymmetric.rsa import RSAPublicKey
from cryptography.hazmat.primitives.serialization import load_pem_public_key

from gateway.auth.settings import JwtKey, JwtSettings
from gateway.clock import utc_now
from gateway.errors import (
    TokenExpired,
    TokenInvalid,
    TokenWrongAudience,
    TokenWrongIssuer,
    Unauthenticated,
)

MAX_TOKEN_CHARS = 16 * 1024  # far above any real JWT; longer text is not even parsed
VERIFIED_CACHE_SIZE = 4096  # tokens remembered as verified (a sidecar serves few agents)
MIN_HMAC_SECRET_BYTES = 32  # RFC 7518 3.2: at least the size of the SHA-256 output
MIN_RSA_BITS = 2048
REQUIRED_CLAIMS = ("exp", "iss", "aud", "sub")

PublicKey = RSAPublicKey | EllipticCurvePublicKey | Ed25519PublicKey | Ed448PublicKey


@dataclass(frozen=True)
class VerifiedToken:
    """What a verified bearer token says about its caller."""

    issuer: str
    subject: str
    tenant: str | None
    expires_at: datetime


@dataclass(frozen=True)
class _Key:
    algorithm: str
    kid: str | None
    material: PublicKey | bytes = field(repr=False)  # an HMAC secret is a secret


def _key_error(spec: JwtKey, problem: str) -> ValueError:
    return ValueError(f"auth.jwt key {spec.path} ({spec.algorithm}): {problem}")


def _load_key(spec: JwtKey) -> _Key:
    try:
        data = spec.path.read_bytes()
    except OSError as error:
        raise _key_error(spec, f"cannot be read: {error.strerror or error}") from None
    if spec.algorithm == "HS256":
        secret = data.strip()
        if not secret:
            raise _key_error(spec, "the file is empty; it must hold the shared secret")
        if b"-----BEGIN" in secret:
            raise _key_error(
                spec,
                "the file holds a PEM key, not a shared secret; give a public key the "
                "algorithm RS256, ES256 or EdDSA",
            )
        if len(secret) < MIN_HMAC_SECRET_BYTES:
            raise _key_error(
                spec, f"an HS256 secret must be at least {MIN_HMAC_SECRET_BYTES} bytes long"
            )
        return _Key(spec.algorithm, spec.kid, secret)
    return _Key(spec.algorithm, spec.kid, _load_public_key(spec, data))


def _load_public_key(spec: JwtKey, data: bytes) -> PublicKey:
    if b"PRIVATE KEY" in data:
        raise _key_error(
            spec, "the file holds a private key; give the public key only (never the private one)"
        )
    try:
        if b"-----BEGIN CERTIFICATE" in data:
            key: object = x509.load_pem_x509_certificate(data).public_key()
        else:
            key = load_pem_public_key(data)
    except (ValueError, TypeError, UnsupportedAlgorithm):
        raise _key_error(spec, "not a PEM public key or certificate") from None
    if spec.algorithm == "RS256":
        if not isinstance(key, RSAPublicKey):
            raise _key_error(spec, "RS256 needs an RSA public key")
        if key.key_size < MIN_RSA_BITS:
            raise _key_error(spec, f"an RSA key must have at least {MIN_RSA_BITS} bits")
        return key
    if spec.algorithm == "ES256":
        if not isinstance(key, EllipticCurvePublicKey) or not isinstance(key.curve, SECP256R1):
            raise _key_error(spec, "ES256 needs an EC public key on the P-256 curve")
        return key
    if not isinstance(key, Ed25519PublicKey | Ed448PublicKey):
        raise _key_error(spec, "EdDSA needs an Ed25519 or Ed448 public key")
    return key


def _show(value: object) -> str:
    """A short, printable rendering of a value taken from a token's header or claims."""
    text = repr(value)
    return text if len(text) <= 64 else text[:60] + "...'"


def _instant(value: object) -> datetime | None:
    """A NumericDate claim as a UTC datetime; None when it is not a finite number of seconds
    (PyJWT would accept the text "123", and Python's JSON parser NaN and Infinity)."""
    if isinstance(value, bool) or not isinstance(value, int | float) or not math.isfinite(value):
        return None
    try:
        return datetime.fromtimestamp(value, tz=UTC)
    except (ValueError, OverflowError, OSError):
        return None


class TokenVerifier:
    """Verifies bearer tokens against the configured keys; built once, at start-up.

    An agent sends the same token with every call until it expires, and checking a signature
    costs more than the rest of authentication: a token verified once is remembered, exactly
    as sent, until it expires (the keys are fixed for the life of the process). At most
    ``VERIFIED_CACHE_SIZE`` tokens are remembered, the least recently used forgotten first.
    """

    def __init__(self, settings: JwtSettings, *, clock: Callable[[], datetime] = utc_now) -> None:
        self._settings = settings
        self._clock = clock
        self._keys = tuple(_load_key(spec) for spec in settings.keys)
        self._algorithms = tuple(sorted({key.algorithm for key in self._keys}))
        self._verified: OrderedDict[str, VerifiedToken] = OrderedDict()

    @property
    def algorithms(self) -> tuple[str, ...]:
        return self._algorithms

    def verify(self, token: str) -> VerifiedToken:
        """The token's subject, tenant and expiry; raises an ``Unauthenticated`` error."""
        known = self._verified.get(token)
        if known is not None:
            if self._unexpired(known.expires_at):
                self._verified.move_to_end(token)
                return known
            del self._verified[token]  # verified again below, which says it expired
        verified = self._verify(token)
        self._verified[token] = verified
        if len(self._verified) > VERIFIED_CACHE_SIZE:
            self._verified.popitem(last=False)
        return verified

    def _unexpired(self, expires_at: datetime) -> bool:
        return expires_at.timestamp() > self._clock().timestamp() - self._settings.leeway_s

    def _verify(self, token: str) -> VerifiedToken:
        if not token or len(token) > MAX_TOKEN_CHARS:
            raise TokenInvalid(
                "the bearer token is empty or too long to be a JWT; send the token exactly "
                "as the issuer gave it"
            )
        candidates = self._candidates(token)
        for key in candidates:
            try:
                claims = jwt.decode(
                    token,
                    key.material,
                    algorithms=[key.algorithm],
                    audience=self._settings.audience,
                    issuer=self._settings.issuer,
                    leeway=self._settings.leeway_s,
                    # exp is checked below, after the issuer and the audience, with a
                    # message that says when the token expired.
                    options={"require": list(REQUIRED_CLAIMS), "verify_exp": False},
                )
            except jwt.InvalidSignatureError:
                continue  # another key of the same algorithm may have signed it
            except jwt.PyJWTError as error:
                raise self._refusal(error) from None
            return self._accept(claims)
        raise TokenInvalid(
            "the bearer token's signature does not match any key this gateway trusts; get a "
            f"token from issuer {_show(self._settings.issuer)}"
        )

    def _candidates(self, token: str) -> list[_Key]:
        """The keys that may have signed the token, chosen by its (unverified) header."""
        try:
            header = jwt.get_unverified_header(token)
        except jwt.PyJWTError:
            raise TokenInvalid(
                "the bearer token is not a well-formed JWT (header.payload.signature in "
                "base64url); send the token exactly as the issuer gave it"
            ) from None
        alg = header.get("alg")
        if not isinstance(alg, str) or alg not in self._algorithms:
            raise TokenInvalid(
                f"the bearer token is signed with algorithm {_show(alg)}, which this gateway "
                f"does not accept (it accepts {', '.join(self._algorithms)}); get a token "
                f"from issuer {_show(self._settings.issuer)}"
            )
        kid = header.get("kid")
        if kid is None:
            return [key for key in self._keys if key.algorithm == alg]
        named = [key for key in self._keys if key.kid == kid]
        if named:
            matching = [key for key in named if key.algorithm == alg]
            if not matching:
                raise TokenInvalid(
                    f"the bearer token names key {_show(kid)} but claims algorithm "
                    f"{_show(alg)}, which is not that key's algorithm; get a new token"
                )
            return matching
        unnamed = [key for key in self._keys if key.kid is None and key.algorithm == alg]
        if not unnamed:
            raise TokenInvalid(
                f"the bearer token names key id {_show(kid)}, which this gateway does not "
                "know; get a token signed with a key in auth.jwt.keys"
            )
        return unnamed

    def _refusal(self, error: jwt.PyJWTError) -> Unauthenticated:
        """The gateway's error for a PyJWT failure (whose text is never passed on)."""
        if isinstance(error, jwt.InvalidAudienceError):
            audience = _show(self._settings.audience)
            return TokenWrongAudience(
                f"the bearer token is not meant for this gateway: its audience (aud) must be "
                f"{audience}; get a token issued for audience {audience}"
            )
        if isinstance(error, jwt.InvalidIssuerError):
            issuer = _show(self._settings.issuer)
            return TokenWrongIssuer(
                f"the bearer token comes from an issuer this gateway does not trust; get a "
                f"token from issuer {issuer}"
            )
        if isinstance(error, jwt.ExpiredSignatureError):  # not raised: exp is checked here
            return TokenExpired("the bearer token expired; get a new token")
        if isinstance(error, jwt.MissingRequiredClaimError):
            return TokenInvalid(
                f"the bearer token has no {_show(error.claim)} claim; tokens must carry "
                f"{', '.join(REQUIRED_CLAIMS)}"
            )
        if isinstance(error, jwt.ImmatureSignatureError):
            return TokenInvalid(
                "the bearer token is not valid yet (its nbf or iat is in the future); check "
                "the clocks of the issuer and of the gateway"
            )
        return TokenInvalid(
            "the bearer token is malformed or its claims are invalid; get a new token from "
            f"issuer {_show(self._settings.issuer)}"
        )

    def _accept(self, claims: dict[str, Any]) -> VerifiedToken:
        expires_at = _instant(claims["exp"])
        if expires_at is None:
            raise TokenInvalid(
                "the bearer token's exp claim is not a time (seconds since 1970); get a new token"
            )
        if not self._unexpired(expires_at):
            raise TokenExpired(
                f"the bearer token expired at {expires_at.strftime('%Y-%m-%dT%H:%M:%SZ')}; "
                "get a new token"
            )
        subject = claims["sub"]
        if not isinstance(subject, str) or not subject.strip():
            raise TokenInvalid("the bearer token's sub claim is empty; it must name the caller")
        tenant_claim = self._settings.tenant_claim
        tenant = claims.get(tenant_claim)
        if tenant is not None and (not isinstance(tenant, str) or not tenant):
            raise TokenInvalid(
                f"the bearer token's {_show(tenant_claim)} claim must be a non-empty string"
            )
        # jwt.decode checked iss against the configured issuer.
        return VerifiedToken(
            issuer=claims["iss"], subject=subject, tenant=tenant, expires_at=expires_at
        )
