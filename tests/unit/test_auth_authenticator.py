"""Authenticator: bearer token, client certificate, development caller, in that order."""

from __future__ import annotations

import time
from pathlib import Path
from typing import Any

import jwt
import pytest

from gateway.auth.authenticator import DEV_CALLER_HEADER, Authenticator
from gateway.auth.mtls import caller_from_peer
from gateway.auth.policy import AuthorizationPolicy
from gateway.auth.settings import AuthSettings, JwtKey, JwtSettings, TlsSettings
from gateway.auth.tokens import TokenVerifier
from gateway.errors import CallerNotAllowed, CredentialsMissing, TokenExpired, TokenInvalid
from gateway.identity import Identity

ISSUER = "https://issuer.example"
AUDIENCE = "connector-gateway"
SECRET = b"an-hs256-secret-for-the-tests-0123456789"
NO_PEER: dict[str, list[bytes]] = {}
SPIFFE = "spiffe://example.org/billing"
AGENT_A = f"jwt:{ISSUER}#agent-a"
OPS = f"jwt:{ISSUER}#ops"

POLICY = {
    "callers": {
        AGENT_A: {"tenant": "acme", "allow": ["*.*"]},
        OPS: {"tenant": "acme", "allow": [], "operator": True},
        SPIFFE: {"tenant": "acme", "allow": ["stripe.*"]},
        "cert:cn-agent": {"tenant": "globex", "allow": ["email.send"]},
    }
}


def _peer(**properties: list[bytes]) -> dict[str, list[bytes]]:
    return {"transport_security_type": [b"ssl"], **properties}


def _token(**changes: Any) -> str:
    claims: dict[str, Any] = {
        "iss": ISSUER,
        "aud": AUDIENCE,
        "sub": "agent-a",
        "exp": int(time.time()) + 300,
    }
    claims.update(changes)
    return jwt.encode(claims, SECRET, algorithm="HS256")


@pytest.fixture
def jwt_settings(tmp_path: Path) -> JwtSettings:
    path = tmp_path / "hs.secret"
    path.write_bytes(SECRET)
    return JwtSettings(
        issuer=ISSUER, audience=AUDIENCE, keys=[JwtKey(path=path, algorithm="HS256")]
    )


@pytest.fixture
def mtls(tmp_path: Path) -> TlsSettings:
    # The authenticator never reads these files; grpcio does, in server_credentials().
    return TlsSettings(
        cert_file=tmp_path / "server.crt",
        key_file=tmp_path / "server.key",
        client_ca_file=tmp_path / "ca.crt",
    )


def _enforced(jwt_settings: JwtSettings, tls: TlsSettings | None = None) -> Authenticator:
    settings = AuthSettings(mode="enforced", jwt=jwt_settings, tls=tls)
    return Authenticator(settings, AuthorizationPolicy.parse(POLICY), TokenVerifier(jwt_settings))


def _development(jwt_settings: JwtSettings | None = None) -> Authenticator:
    settings = AuthSettings(jwt=jwt_settings)
    verifier = TokenVerifier(jwt_settings) if jwt_settings else None
    return Authenticator(
        settings,
        AuthorizationPolicy.development(settings.dev_caller, settings.dev_operator),
        verifier,
    )


# --- bearer tokens ---------------------------------------------------------------------------


def test_bearer_token(jwt_settings: JwtSettings) -> None:
    authenticator = _enforced(jwt_settings)
    identity = authenticator.authenticate([("authorization", f"Bearer {_token()}")], NO_PEER)
    assert identity == Identity(AGENT_A, "acme", operator=False)
    identity = authenticator.authenticate(
        [("authorization", f"bearer {_token(sub='ops', tenant='acme')}".encode())], NO_PEER
    )
    assert identity == Identity(OPS, "acme", operator=True)


def test_bearer_token_refusals_from_the_policy(jwt_settings: JwtSettings) -> None:
    authenticator = _enforced(jwt_settings)
    with pytest.raises(CallerNotAllowed, match="not in the authorization policy"):
        authenticator.authenticate([("authorization", f"Bearer {_token(sub='x')}")], NO_PEER)
    with pytest.raises(CallerNotAllowed, match="'globex'"):
        authenticator.authenticate(
            [("authorization", f"Bearer {_token(tenant='globex')}")], NO_PEER
        )


@pytest.mark.parametrize(
    "value",
    ["Basic dXNlcjpwYXNz", "Bearer", "Bearer ", "Token abc.def.ghi", "Bearer a b", ""],
)
def test_malformed_authorization_metadata(jwt_settings: JwtSettings, value: str) -> None:
    with pytest.raises(TokenInvalid, match="'Bearer <token>'") as caught:
        _enforced(jwt_settings).authenticate([("authorization", value)], NO_PEER)
    assert "dXNlcjpwYXNz" not in caught.value.message


def test_two_authorization_entries_are_refused(jwt_settings: JwtSettings) -> None:
    metadata = [("authorization", f"Bearer {_token()}"), ("authorization", "Bearer x.y.z")]
    with pytest.raises(TokenInvalid, match="one authorization"):
        _enforced(jwt_settings).authenticate(metadata, NO_PEER)


def test_token_without_jwt_settings_is_refused_not_ignored() -> None:
    with pytest.raises(TokenInvalid, match="does not accept bearer tokens"):
        _development().authenticate([("authorization", f"Bearer {_token()}")], NO_PEER)


# --- client certificates ---------------------------------------------------------------------


def test_client_certificate(jwt_settings: JwtSettings, mtls: TlsSettings) -> None:
    authenticator = _enforced(jwt_settings, mtls)
    peer = _peer(
        x509_common_name=[b"ignored-cn"],
        x509_subject_alternative_name=[b"billing.example.org", SPIFFE.encode()],
    )
    assert authenticator.authenticate([], peer) == Identity(SPIFFE, "acme")
    cn_only = _peer(x509_common_name=[b"cn-agent"])
    assert authenticator.authenticate([], cn_only) == Identity("cert:cn-agent", "globex")
    with pytest.raises(CallerNotAllowed, match="'cert:stranger'"):
        authenticator.authenticate([], _peer(x509_common_name=[b"stranger"]))


def test_token_wins_over_the_certificate(jwt_settings: JwtSettings, mtls: TlsSettings) -> None:
    authenticator = _enforced(jwt_settings, mtls)
    peer = _peer(x509_common_name=[b"cn-agent"])
    metadata = [("authorization", f"Bearer {_token()}")]
    assert authenticator.authenticate(metadata, peer).caller == AGENT_A
    expired = [("authorization", f"Bearer {_token(exp=int(time.time()) - 3600)}")]
    with pytest.raises(TokenExpired):  # not let in on the certificate instead
        authenticator.authenticate(expired, peer)


def test_peer_certificates_count_only_with_mtls_configured(jwt_settings: JwtSettings) -> None:
    with pytest.raises(CredentialsMissing):
        _enforced(jwt_settings).authenticate([], _peer(x509_common_name=[b"cn-agent"]))


@pytest.mark.parametrize(
    ("context", "caller"),
    [
        ({}, None),
        ({"transport_security_type": [b"insecure"], "x509_common_name": [b"x"]}, None),
        (_peer(), None),
        (_peer(x509_common_name=[b"agent"]), "cert:agent"),
        (_peer(x509_common_name=[b"cn"], x509_subject_alternative_name=[b"a.example"]), "cert:cn"),
        (
            _peer(x509_subject_alternative_name=[b"::1", b"a@b.example", b"urn:x:y"]),
            "uri:urn:x:y",
        ),
        (
            _peer(x509_subject_alternative_name=[b"https://a.example/x", SPIFFE.encode()]),
            SPIFFE,
        ),
        (
            _peer(peer_uri=[b"https://a.example/x"], x509_common_name=[b"cn"]),
            "uri:https://a.example/x",
        ),
    ],
)
def test_caller_from_peer(context: dict[str, list[bytes]], caller: str | None) -> None:
    assert caller_from_peer(context) == caller


# --- development mode ------------------------------------------------------------------------


def test_development_caller_and_header() -> None:
    authenticator = _development()
    assert authenticator.authenticate([], NO_PEER) == Identity("local-agent", "default")
    operator = authenticator.authenticate([(DEV_CALLER_HEADER, "local-operator")], NO_PEER)
    assert operator == Identity("local-operator", "default", operator=True)
    with pytest.raises(CallerNotAllowed, match="'someone'"):
        authenticator.authenticate([(DEV_CALLER_HEADER, "someone")], NO_PEER)


def test_enforced_mode_without_credentials(jwt_settings: JwtSettings) -> None:
    authenticator = _enforced(jwt_settings)
    for metadata in ([], [(DEV_CALLER_HEADER, "agent-a")]):
        with pytest.raises(CredentialsMissing) as caught:
            authenticator.authenticate(metadata, NO_PEER)
        assert "bearer token" in caught.value.message
        assert "client certificate" in caught.value.message


@pytest.mark.parametrize("token", ["garbage", "_expired_", "_forged_"])
def test_invalid_token_is_refused_even_in_development_mode(
    jwt_settings: JwtSettings, token: str
) -> None:
    if token == "_expired_":
        token = _token(exp=int(time.time()) - 3600)
    elif token == "_forged_":
        token = jwt.encode(
            {"iss": ISSUER, "aud": AUDIENCE, "sub": "local-agent", "exp": time.time() + 60},
            b"not-the-secret-but-long-enough-anyway!!",
            algorithm="HS256",
        )
    authenticator = _development(jwt_settings)
    metadata = [("authorization", f"Bearer {token}"), (DEV_CALLER_HEADER, "local-operator")]
    with pytest.raises((TokenInvalid, TokenExpired)):
        authenticator.authenticate(metadata, NO_PEER)


def test_no_token_can_name_a_development_caller(jwt_settings: JwtSettings) -> None:
    authenticator = _development(jwt_settings)
    metadata = [("authorization", f"Bearer {_token(sub='local-operator')}")]
    with pytest.raises(CallerNotAllowed, match=f"'jwt:{ISSUER}#local-operator'"):
        authenticator.authenticate(metadata, NO_PEER)


# --- building from settings ------------------------------------------------------------------


def test_from_settings(tmp_path: Path, jwt_settings: JwtSettings) -> None:
    policy_file = tmp_path / "policy.toml"
    policy_file.write_text(f'[callers."{AGENT_A}"]\ntenant = "acme"\nallow = ["*.*"]\n')

    development = Authenticator.from_settings(AuthSettings())
    assert development.policy.callers == ("local-agent", "local-operator")

    enforced = Authenticator.from_settings(
        AuthSettings(mode="enforced", jwt=jwt_settings, policy_file=policy_file)
    )
    metadata = [("authorization", f"Bearer {_token()}")]
    assert enforced.authenticate(metadata, NO_PEER) == Identity(AGENT_A, "acme")

    with pytest.raises(ValueError, match=r"auth\.policy_file"):
        Authenticator.from_settings(AuthSettings(mode="enforced", jwt=jwt_settings))
    with pytest.raises(ValueError, match="'local-agent' is not one of its callers"):
        Authenticator.from_settings(AuthSettings(policy_file=policy_file))
    dev_with_file = Authenticator.from_settings(
        AuthSettings(policy_file=policy_file, dev_caller=AGENT_A)
    )
    assert dev_with_file.authenticate([], NO_PEER) == Identity(AGENT_A, "acme")


def test_jwt_settings_without_a_verifier_is_a_wiring_error(jwt_settings: JwtSettings) -> None:
    with pytest.raises(ValueError, match="TokenVerifier"):
        Authenticator(
            AuthSettings(jwt=jwt_settings), AuthorizationPolicy.development(), verifier=None
        )


# --- one namespace per way of authenticating --------------------------------------------------


def test_a_token_cannot_claim_a_certificate_s_identity(
    jwt_settings: JwtSettings, mtls: TlsSettings
) -> None:
    authenticator = _enforced(jwt_settings, mtls)
    # The workload's certificate carries these rights...
    assert authenticator.authenticate([], _peer(x509_subject_alternative_name=[SPIFFE.encode()]))
    assert authenticator.authenticate([], _peer(x509_common_name=[b"cn-agent"]))
    # ...and a token of a trusted issuer whose sub names the workload gets none of them.
    for subject in (SPIFFE, "cert:cn-agent", "cn-agent"):
        metadata = [("authorization", f"Bearer {_token(sub=subject)}")]
        with pytest.raises(CallerNotAllowed) as caught:
            authenticator.authenticate(metadata, NO_PEER)
        assert f"'jwt:{ISSUER}#{subject}' is not in the authorization policy" in (
            caught.value.message
        )


def test_a_certificate_cannot_claim_a_token_s_identity(
    jwt_settings: JwtSettings, mtls: TlsSettings
) -> None:
    authenticator = _enforced(jwt_settings, mtls)
    for peer in (
        _peer(x509_common_name=[b"agent-a"]),
        _peer(x509_common_name=[AGENT_A.encode()]),
        _peer(x509_subject_alternative_name=[AGENT_A.encode()]),
    ):
        with pytest.raises(CallerNotAllowed):
            authenticator.authenticate([], peer)


def _policy_file(tmp_path: Path, *callers: str) -> Path:
    path = tmp_path / "policy.toml"
    path.write_text(
        "".join(f'[callers."{c}"]\ntenant = "acme"\nallow = ["*.*"]\n' for c in callers),
        encoding="utf-8",
    )
    return path


def test_an_enforced_policy_in_the_old_form_stops_the_start_naming_the_new_one(
    tmp_path: Path, jwt_settings: JwtSettings, mtls: TlsSettings
) -> None:
    policy = _policy_file(tmp_path, AGENT_A, "billing-agent")
    both = AuthSettings(mode="enforced", jwt=jwt_settings, tls=mtls, policy_file=policy)
    with pytest.raises(ValueError, match="old form") as caught:
        Authenticator.from_settings(both)
    assert str(policy) in str(caught.value)
    assert (
        "caller 'billing-agent' is in the old form: write "
        f"'jwt:{ISSUER}#billing-agent' for a bearer token of the configured issuer, or "
        "'cert:billing-agent' for a certificate's common name"
    ) in str(caught.value)

    tokens_only = AuthSettings(mode="enforced", jwt=jwt_settings, policy_file=policy)
    with pytest.raises(ValueError, match="old form") as caught:
        Authenticator.from_settings(tokens_only)
    assert "cert:" not in str(caught.value)

    certificates_only = _policy_file(tmp_path, SPIFFE, "billing-agent")
    with pytest.raises(ValueError, match="old form") as caught:
        Authenticator.from_settings(
            AuthSettings(mode="enforced", tls=mtls, policy_file=certificates_only)
        )
    assert "'cert:billing-agent' for a certificate's common name" in str(caught.value)
    assert "jwt:" not in str(caught.value)

    bare_uri = _policy_file(tmp_path, "https://a.example/workload")
    with pytest.raises(ValueError, match=r"'uri:https://a\.example/workload'"):
        Authenticator.from_settings(AuthSettings(mode="enforced", tls=mtls, policy_file=bare_uri))


@pytest.mark.parametrize(
    ("caller", "words"),
    [
        ("jwt:https://issuer.example", "'jwt:<issuer>#<sub>'"),
        ("jwt:#agent", "'jwt:<issuer>#<sub>'"),
        (f"jwt:{ISSUER}#", "'jwt:<issuer>#<sub>'"),
        ("cert:", "'cert:<common name>'"),
        ("uri:no-scheme", "followed by a URI"),
        ("spiffe://", "SPIFFE id"),
    ],
)
def test_malformed_namespaced_callers_are_refused(tmp_path: Path, caller: str, words: str) -> None:
    path = _policy_file(tmp_path, caller)
    with pytest.raises(ValueError, match="authorization policy") as caught:
        AuthorizationPolicy.load(path)
    assert words in str(caught.value)


def test_namespaced_callers_are_accepted_and_plain_names_in_development(
    tmp_path: Path, jwt_settings: JwtSettings, mtls: TlsSettings
) -> None:
    callers = (AGENT_A, SPIFFE, "uri:urn:example:workload", "cert:cn-agent")
    enforced = Authenticator.from_settings(
        AuthSettings(
            mode="enforced",
            jwt=jwt_settings,
            tls=mtls,
            policy_file=_policy_file(tmp_path, *callers),
        )
    )
    assert enforced.policy.callers == callers
    development = Authenticator.from_settings(
        AuthSettings(policy_file=_policy_file(tmp_path, "local-agent", AGENT_A))
    )
    assert development.authenticate([], NO_PEER).caller == "local-agent"


def test_a_caller_of_another_issuer_is_logged(
    tmp_path: Path, jwt_settings: JwtSettings, caplog: pytest.LogCaptureFixture
) -> None:
    policy = _policy_file(tmp_path, AGENT_A, "jwt:https://other.example#agent-a")
    Authenticator.from_settings(AuthSettings(mode="enforced", jwt=jwt_settings, policy_file=policy))
    assert "'jwt:https://other.example#agent-a' names a token issuer other than" in caplog.text
