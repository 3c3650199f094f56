"""Bearer token verification: keys, algorithms, claims, and the errors callers see."""

from __future__ import annotations

import base64
import hashlib
import hmac
import json
import time
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import jwt
import pytest
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric import ec, ed25519, rsa

from gateway.auth.settings import JwtKey, JwtSettings
from gateway.auth.tokens import TokenVerifier, VerifiedToken
from gateway.errors import (
    GatewayError,
    TokenExpired,
    TokenInvalid,
    TokenWrongAudience,
    TokenWrongIssuer,
)

ISSUER = "https://issuer.example"
AUDIENCE = "connector-gateway"
HS_SECRET = b"0123456789abcdef0123456789abcdef-test-secret"


def _public_pem(key: Any) -> bytes:
    pem: bytes = key.public_key().public_bytes(
        serialization.Encoding.PEM, serialization.PublicFormat.SubjectPublicKeyInfo
    )
    return pem


def _private_pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem


@dataclass
class Keys:
    rsa: rsa.RSAPrivateKey
    ec: ec.EllipticCurvePrivateKey
    ed: ed25519.Ed25519PrivateKey
    rsa_path: Path
    ec_path: Path
    ed_path: Path
    hs_path: Path


@pytest.fixture(scope="module")
def keys(tmp_path_factory: pytest.TempPathFactory) -> Keys:
    folder = tmp_path_factory.mktemp("keys")
    rsa_key = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    ec_key = ec.generate_private_key(ec.SECP256R1())
    ed_key = ed25519.Ed25519PrivateKey.generate()
    paths = {}
    for name, data in (
        ("rsa.pem", _public_pem(rsa_key)),
        ("ec.pem", _public_pem(ec_key)),
        ("ed.pem", _public_pem(ed_key)),
        ("hs.secret", HS_SECRET + b"\n"),
    ):
        paths[name] = folder / name
        paths[name].write_bytes(data)
    return Keys(
        rsa_key,
        ec_key,
        ed_key,
        paths["rsa.pem"],
        paths["ec.pem"],
        paths["ed.pem"],
        paths["hs.secret"],
    )


def _settings(*keys: JwtKey, leeway_s: float = 30, tenant_claim: str = "tenant") -> JwtSettings:
    return JwtSettings(
        issuer=ISSUER,
        audience=AUDIENCE,
        keys=list(keys),
        leeway_s=leeway_s,
        tenant_claim=tenant_claim,
    )


@pytest.fixture(scope="module")
def verifier(keys: Keys) -> TokenVerifier:
    return TokenVerifier(
        _settings(
            JwtKey(path=keys.rsa_path, algorithm="RS256"),
            JwtKey(path=keys.ec_path, algorithm="ES256"),
            JwtKey(path=keys.ed_path, algorithm="EdDSA"),
            JwtKey(path=keys.hs_path, algorithm="HS256"),
        )
    )


def _claims(**changes: Any) -> dict[str, Any]:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-a",
        "exp": int(time.time()) + 300,
        "tenant": "acme",
    }
    for name, value in changes.items():
        if value is None:
            claims.pop(name, None)
        else:
            claims[name] = value
    return claims


def _b64(data: bytes) -> str:
    return base64.urlsafe_b64encode(data).rstrip(b"=").decode()


def _hs256_by_hand(secret: bytes, claims: dict[str, Any], **header: Any) -> str:
    """An HS256 token signed with any bytes, even those PyJWT refuses as a secret."""
    signing_input = (
        _b64(json.dumps({"alg": "HS256", "typ": "JWT", **header}).encode())
        + "."
        + _b64(json.dumps(claims).encode())
    )
    signature = hmac.new(secret, signing_input.encode(), hashlib.sha256).digest()
    return signing_input + "." + _b64(signature)


def refused(verifier: TokenVerifier, token: str, error: type[GatewayError]) -> str:
    """Asserts the exact refusal and that its message does not give the token away."""
    with pytest.raises(GatewayError) as caught:
        verifier.verify(token)
    assert type(caught.value) is error, caught.value
    message = str(caught.value)
    assert message == caught.value.message
    assert not token or token not in message
    for part in token.split("."):
        if len(part) >= 8:
            assert part not in message
    return message


# --- accepted tokens -------------------------------------------------------------------------


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "EdDSA", "HS256"])
def test_valid_tokens_of_every_configured_algorithm(
    verifier: TokenVerifier, keys: Keys, algorithm: str
) -> None:
    signing_key: Any = {
        "RS256": keys.rsa,
        "ES256": keys.ec,
        "EdDSA": keys.ed,
        "HS256": HS_SECRET,
    }[algorithm]
    exp = int(time.time()) + 300
    token = jwt.encode(_claims(exp=exp), signing_key, algorithm=algorithm)

    verified = verifier.verify(token)

    assert verified == VerifiedToken(
        issuer=ISSUER,
        subject="agent-a",
        tenant="acme",
        expires_at=datetime.fromtimestamp(exp, UTC),
    )


def test_tenant_claim_is_optional_and_configurable(keys: Keys) -> None:
    verifier = TokenVerifier(
        _settings(JwtKey(path=keys.hs_path, algorithm="HS256"), tenant_claim="org")
    )
    assert verifier.verify(jwt.encode(_claims(), HS_SECRET, algorithm="HS256")).tenant is None
    token = jwt.encode(_claims(org="acme"), HS_SECRET, algorithm="HS256")
    assert verifier.verify(token).tenant == "acme"


def test_audience_list_containing_the_gateway_is_accepted(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(aud=["other", AUDIENCE]), HS_SECRET, algorithm="HS256")
    assert verifier.verify(token).subject == "agent-a"


def test_key_is_chosen_by_kid(keys: Keys, tmp_path: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_path = tmp_path / "other.pem"
    other_path.write_bytes(_public_pem(other))
    verifier = TokenVerifier(
        _settings(
            JwtKey(path=keys.rsa_path, algorithm="RS256", kid="one"),
            JwtKey(path=other_path, algorithm="RS256", kid="two"),
        )
    )
    token = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "two"})
    assert verifier.verify(token).subject == "agent-a"
    # the right signer, but named as the other key: refused, not retried with every key
    token = jwt.encode(_claims(), other, algorithm="RS256", headers={"kid": "one"})
    refused(verifier, token, TokenInvalid)


def test_without_kid_every_key_of_the_algorithm_is_tried(keys: Keys, tmp_path: Path) -> None:
    other = rsa.generate_private_key(public_exponent=65537, key_size=2048)
    other_path = tmp_path / "other.pem"
    other_path.write_bytes(_public_pem(other))
    verifier = TokenVerifier(
        _settings(
            JwtKey(path=keys.rsa_path, algorithm="RS256"),
            JwtKey(path=other_path, algorithm="RS256", kid="two"),
        )
    )
    assert verifier.verify(jwt.encode(_claims(), other, algorithm="RS256")).subject == "agent-a"
    # a kid no key has falls back to the keys configured without one
    token = jwt.encode(_claims(), keys.rsa, algorithm="RS256", headers={"kid": "rotated"})
    assert verifier.verify(token).subject == "agent-a"


def test_public_key_may_be_given_as_a_certificate(keys: Keys, tmp_path: Path) -> None:
    from cryptography import x509
    from cryptography.hazmat.primitives import hashes
    from cryptography.x509.oid import NameOID

    name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, "issuer")])
    now = datetime.now(UTC)
    cert = (
        x509.CertificateBuilder()
        .subject_name(name)
        .issuer_name(name)
        .public_key(keys.ec.public_key())
        .serial_number(1)
        .not_valid_before(now)
        .not_valid_after(now.replace(year=now.year + 1))
        .sign(keys.ec, hashes.SHA256())
    )
    path = tmp_path / "issuer.crt"
    path.write_bytes(cert.public_bytes(serialization.Encoding.PEM))
    verifier = TokenVerifier(_settings(JwtKey(path=path, algorithm="ES256")))
    assert verifier.verify(jwt.encode(_claims(), keys.ec, algorithm="ES256")).tenant == "acme"


# --- refused tokens --------------------------------------------------------------------------


def test_expired_token_says_when_and_what_to_do(verifier: TokenVerifier) -> None:
    exp = int(time.time()) - 120
    token = jwt.encode(_claims(exp=exp), HS_SECRET, algorithm="HS256")
    message = refused(verifier, token, TokenExpired)
    when = datetime.fromtimestamp(exp, UTC).strftime("%Y-%m-%dT%H:%M:%SZ")
    assert message == f"the bearer token expired at {when}; get a new token"


def test_leeway_is_honoured(keys: Keys) -> None:
    token = jwt.encode(_claims(exp=int(time.time()) - 10), HS_SECRET, algorithm="HS256")
    lenient = TokenVerifier(_settings(JwtKey(path=keys.hs_path, algorithm="HS256")))
    assert lenient.verify(token).subject == "agent-a"
    strict = TokenVerifier(_settings(JwtKey(path=keys.hs_path, algorithm="HS256"), leeway_s=0))
    refused(strict, token, TokenExpired)


def test_expiry_uses_the_injected_clock(keys: Keys) -> None:
    exp = 2_000_000_000
    token = jwt.encode(_claims(exp=exp), HS_SECRET, algorithm="HS256")
    settings = _settings(JwtKey(path=keys.hs_path, algorithm="HS256"), leeway_s=30)
    before = TokenVerifier(settings, clock=lambda: datetime.fromtimestamp(exp + 29, UTC))
    assert before.verify(token).expires_at == datetime.fromtimestamp(exp, UTC)
    after = TokenVerifier(settings, clock=lambda: datetime.fromtimestamp(exp + 30, UTC))
    refused(after, token, TokenExpired)


def test_wrong_audience(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(aud="another-service"), HS_SECRET, algorithm="HS256")
    message = refused(verifier, token, TokenWrongAudience)
    assert AUDIENCE in message


def test_wrong_issuer(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(iss="https://evil.example"), HS_SECRET, algorithm="HS256")
    message = refused(verifier, token, TokenWrongIssuer)
    assert ISSUER in message


def test_wrong_issuer_wins_over_expiry(verifier: TokenVerifier) -> None:
    claims = _claims(iss="https://evil.example", exp=int(time.time()) - 3600)
    refused(verifier, jwt.encode(claims, HS_SECRET, algorithm="HS256"), TokenWrongIssuer)


@pytest.mark.parametrize("algorithm", ["RS256", "ES256", "HS256"])
def test_forged_token_signed_by_another_key(verifier: TokenVerifier, algorithm: str) -> None:
    forger: Any = {
        "RS256": rsa.generate_private_key(public_exponent=65537, key_size=2048),
        "ES256": ec.generate_private_key(ec.SECP256R1()),
        "HS256": b"another-secret-of-at-least-32-bytes-long",
    }[algorithm]
    token = jwt.encode(_claims(), forger, algorithm=algorithm)
    message = refused(verifier, token, TokenInvalid)
    assert "signature" in message


def test_tampered_claims_are_refused(verifier: TokenVerifier, keys: Keys) -> None:
    header, _, signature = jwt.encode(_claims(), keys.rsa, algorithm="RS256").split(".")
    payload = _b64(json.dumps(_claims(sub="operator")).encode())
    refused(verifier, f"{header}.{payload}.{signature}", TokenInvalid)


def test_alg_none_is_refused(verifier: TokenVerifier) -> None:
    token = jwt.encode(_claims(), "", algorithm="none")
    message = refused(verifier, token, TokenInvalid)
    assert "'none'" in message
    # and with a made-up signature as well
    refused(verifier, token + "c2lnbmF0dXJl", TokenInvalid)


def test_hs256_signed_with_the_rsa_public_key_is_refused(
    verifier: TokenVerifier, keys: Keys
) -> None:
    """Algorithm confusion: the public key PEM used as an HMAC secret."""
    public_pem = keys.rsa_path.read_bytes()
    token = _hs256_by_hand(public_pem, _claims())
    refused(verifier, token, TokenInvalid)
    # also when no HS256 key is configured at all, and when the token names the RSA key
    rsa_only = TokenVerifier(_settings(JwtKey(path=keys.rsa_path, algorithm="RS256", kid="r")))
    refused(rsa_only, token, TokenInvalid)
    refused(rsa_only, _hs256_by_hand(public_pem, _claims(), kid="r"), TokenInvalid)


def test_rs256_token_cannot_use_the_hmac_key(verifier: TokenVerifier, keys: Keys) -> None:
    """The other direction: an RS256 header does not make the HMAC secret usable."""
    hs_only = TokenVerifier(_settings(JwtKey(path=keys.hs_path, algorithm="HS256")))
    token = jwt.encode(_claims(), keys.rsa, algorithm="RS256")
    message = refused(hs_only, token, TokenInvalid)
    assert "'RS256'" in message
    assert "HS256" in message


@pytest.mark.parametrize("claim", ["sub", "exp", "iss", "aud"])
def test_missing_required_claim(verifier: TokenVerifier, claim: str) -> None:
    token = jwt.encode(_claims(**{claim: None}), HS_SECRET, algorithm="HS256")
    message = refused(verifier, token, TokenInvalid)
    assert f"'{claim}'" in message


@pytest.mark.parametrize(
    ("changes", "words"),
    [
        ({"sub": ""}, "sub"),
        ({"sub": 42}, "malformed"),
        ({"exp": "9999999999"}, "exp"),
        ({"exp": True}, "exp"),
        ({"exp": float("nan")}, "exp"),
        ({"exp": float("inf")}, "exp"),
        ({"exp": 10**30}, "exp"),
        ({"tenant": 7}, "tenant"),
        ({"tenant": ""}, "tenant"),
        ({"nbf": int(time.time()) + 3600}, "not valid yet"),
    ],
)
def test_invalid_claims(verifier: TokenVerifier, changes: dict[str, Any], words: str) -> None:
    token = jwt.encode(_claims(**changes), HS_SECRET, algorithm="HS256")
    assert words in refused(verifier, token, TokenInvalid)


def test_unknown_kid(keys: Keys) -> None:
    verifier = TokenVerifier(_settings(JwtKey(path=keys.rsa_path, algorithm="RS256", kid="k1")))
    token = jwt.encode(_claims(), keys.rsa, algorithm="RS256", headers={"kid": "k2"})
    message = refused(verifier, token, TokenInvalid)
    assert "'k2'" in message


@pytest.mark.parametrize(
    "token",
    [
        "",
        "not-a-token",
        "a.b.c",
        "eyJhbGciOiJIUzI1NiJ9.e30",
        "eyJhbGciOiJIUzI1NiJ9.!!!.e30",
        "x" * 20_000,
    ],
)
def test_malformed_tokens(verifier: TokenVerifier, token: str) -> None:
    refused(verifier, token, TokenInvalid)


def test_unknown_kid_type_and_alg_type(verifier: TokenVerifier) -> None:
    claims = _b64(json.dumps(_claims()).encode())
    for header in ({"alg": ["HS256"]}, {"alg": "HS256", "kid": 5}, {"kid": "x"}):
        token = _b64(json.dumps(header).encode()) + "." + claims + ".c2lnbmF0dXJlLWJ5dGVz"
        refused(verifier, token, TokenInvalid)


# --- key files -------------------------------------------------------------------------------


def test_key_material_never_shows_in_repr(verifier: TokenVerifier) -> None:
    assert HS_SECRET.decode() not in repr(verifier.__dict__)


@pytest.mark.parametrize(
    ("content", "algorithm", "words"),
    [
        (b"", "HS256", "empty"),
        (b"short-secret", "HS256", "at least 32 bytes"),
        ("rsa-public", "HS256", "PEM key, not a shared secret"),
        ("rsa-private", "RS256", "private key"),
        (b"not a key at all", "RS256", "not a PEM public key"),
        ("ec-public", "RS256", "RS256 needs an RSA public key"),
        ("rsa-public", "ES256", "P-256"),
        ("p384-public", "ES256", "P-256"),
        ("rsa-public", "EdDSA", "Ed25519"),
        ("rsa-1024", "RS256", "2048"),
    ],
)
def test_bad_key_files_are_refused_at_start_up(
    tmp_path: Path, keys: Keys, content: bytes | str, algorithm: Any, words: str
) -> None:
    generated = {
        "rsa-public": lambda: _public_pem(keys.rsa),
        "rsa-private": lambda: _private_pem(keys.rsa),
        "ec-public": lambda: _public_pem(keys.ec),
        "p384-public": lambda: _public_pem(ec.generate_private_key(ec.SECP384R1())),
        "rsa-1024": lambda: _public_pem(
            rsa.generate_private_key(public_exponent=65537, key_size=1024)  # noqa: S505
        ),
    }
    data = generated[content]() if isinstance(content, str) else content
    path = tmp_path / "key"
    path.write_bytes(data)
    with pytest.raises(ValueError, match=r"auth\.jwt key") as caught:
        TokenVerifier(_settings(JwtKey(path=path, algorithm=algorithm)))
    assert words in str(caught.value)
    assert str(path) in str(caught.value)
    if data:
        assert data.decode(errors="replace").strip() not in str(caught.value)


def test_missing_key_file(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        TokenVerifier(_settings(JwtKey(path=tmp_path / "absent.pem", algorithm="RS256")))


def test_settings_refuse_no_keys_and_duplicate_kids(keys: Keys) -> None:
    with pytest.raises(ValueError, match="keys"):
        JwtSettings(issuer=ISSUER, audience=AUDIENCE, keys=[])
    with pytest.raises(ValueError, match="kid k is given twice"):
        _settings(
            JwtKey(path=keys.rsa_path, algorithm="RS256", kid="k"),
            JwtKey(path=keys.ec_path, algorithm="ES256", kid="k"),
        )
    with pytest.raises(ValueError, match="none"):
        JwtKey.model_validate({"path": keys.rsa_path, "algorithm": "none"})


def test_a_remembered_token_still_expires(keys: Keys) -> None:
    """A token verified once is not verified again, but it is refused once it expires."""
    exp = 2_000_000_000
    token = jwt.encode(_claims(exp=exp), HS_SECRET, algorithm="HS256")
    now = [datetime.fromtimestamp(exp - 60, UTC)]
    verifier = TokenVerifier(
        _settings(JwtKey(path=keys.hs_path, algorithm="HS256"), leeway_s=30),
        clock=lambda: now[0],
    )
    first = verifier.verify(token)
    assert verifier.verify(token) is first  # remembered
    now[0] = datetime.fromtimestamp(exp + 29, UTC)
    assert verifier.verify(token) is first  # still within the leeway
    now[0] = datetime.fromtimestamp(exp + 30, UTC)
    message = refused(verifier, token, TokenExpired)
    assert "expired at" in message


def test_only_the_exact_token_verified_is_remembered(keys: Keys) -> None:
    verifier = TokenVerifier(_settings(JwtKey(path=keys.hs_path, algorithm="HS256")))
    token = jwt.encode(_claims(), HS_SECRET, algorithm="HS256")
    assert verifier.verify(token).subject == "agent-a"
    header, _payload, signature = token.split(".")
    forged = jwt.encode(_claims(sub="agent-b"), HS_SECRET, algorithm="HS256").split(".")[1]
    refused(verifier, f"{header}.{forged}.{signature}", TokenInvalid)
