"""The authorization policy file, and the start-up checks of the authentication settings."""

from __future__ import annotations

from pathlib import Path

import pytest

from gateway.auth.authenticator import (
    assert_safe_to_start,
    clear_text_warning,
    development_banner,
)
from gateway.auth.policy import AuthorizationPolicy, CallerRule
from gateway.auth.settings import AuthSettings, JwtKey, JwtSettings, TlsSettings
from gateway.errors import CallerNotAllowed, OperatorRequired
from gateway.identity import Identity

POLICY = """
[callers."agent-a"]
tenant = "acme"
allow = ["email.send", "stripe.*", "*.get_*"]

[callers."spiffe://example.org/ns/prod/sa/billing"]
tenant = "acme"
allow = ["stripe.create_refund"]

[callers.ops]
tenant = "acme"
allow = ["*.*"]
operator = true

[callers."agent-b"]
tenant = "globex"
allow = []
"""


@pytest.fixture
def policy(tmp_path: Path) -> AuthorizationPolicy:
    path = tmp_path / "policy.toml"
    path.write_text(POLICY, encoding="utf-8")
    return AuthorizationPolicy.load(path)


def test_load(policy: AuthorizationPolicy) -> None:
    assert policy.callers == (
        "agent-a",
        "spiffe://example.org/ns/prod/sa/billing",
        "ops",
        "agent-b",
    )
    assert policy.rule("agent-a") == CallerRule(
        "agent-a", "acme", ("email.send", "stripe.*", "*.get_*"), operator=False
    )
    assert policy.identity_for("ops", None) == Identity("ops", "acme", operator=True)
    assert policy.identity_for("agent-b", None) == Identity("agent-b", "globex")


@pytest.mark.parametrize(
    ("connector", "operation", "allowed"),
    [
        ("email", "send", True),
        ("email", "send_later", False),
        ("email", "get_message", True),
        ("stripe", "create_refund", True),
        ("stripe", "anything", True),
        ("hubspot", "get_contact", True),
        ("hubspot", "create_contact", False),
        ("Email", "send", False),  # case matters
        ("stripes", "create_refund", False),
    ],
)
def test_patterns(
    policy: AuthorizationPolicy, connector: str, operation: str, allowed: bool
) -> None:
    identity = policy.identity_for("agent-a", "acme")
    assert policy.may_call(identity, connector, operation) is allowed
    if allowed:
        policy.check_call(identity, connector, operation)
    else:
        with pytest.raises(CallerNotAllowed) as caught:
            policy.check_call(identity, connector, operation)
        assert "'agent-a'" in caught.value.message
        assert f"{connector}.{operation}" in caught.value.message


def test_empty_allow_list_allows_nothing(policy: AuthorizationPolicy) -> None:
    identity = policy.identity_for("agent-b", None)
    assert not policy.may_call(identity, "email", "send")


def test_identity_of_another_tenant_is_not_allowed(policy: AuthorizationPolicy) -> None:
    forged = Identity("agent-a", "globex")
    assert not policy.may_call(forged, "email", "send")
    assert not policy.may_call(Identity("nobody", "acme"), "email", "send")


def test_unknown_caller(policy: AuthorizationPolicy) -> None:
    with pytest.raises(CallerNotAllowed) as caught:
        policy.identity_for("agent-z", None)
    assert caught.value.message.startswith("caller 'agent-z' is not in the authorization policy")


def test_tenant_claim_must_match_the_policy(policy: AuthorizationPolicy) -> None:
    assert policy.identity_for("agent-a", "acme").tenant == "acme"
    with pytest.raises(CallerNotAllowed) as caught:
        policy.identity_for("agent-a", "globex")
    assert "'globex'" in caught.value.message
    assert "'agent-a'" in caught.value.message


def test_operator_checks(policy: AuthorizationPolicy) -> None:
    policy.check_operator(policy.identity_for("ops", None))
    with pytest.raises(OperatorRequired) as caught:
        policy.check_operator(policy.identity_for("agent-a", None))
    assert "'agent-a' is not an operator" in caught.value.message
    with pytest.raises(OperatorRequired):  # claims operator, but not in the policy
        policy.check_operator(Identity("agent-a", "acme", operator=True))
    with pytest.raises(OperatorRequired):  # an operator, but of another tenant
        policy.check_operator(Identity("ops", "globex", operator=True))


def test_development_policy() -> None:
    policy = AuthorizationPolicy.development("me", "boss")
    agent = policy.identity_for("me", None)
    boss = policy.identity_for("boss", None)
    assert agent == Identity("me", "default", operator=False)
    assert boss == Identity("boss", "default", operator=True)
    assert policy.may_call(agent, "stripe", "create_refund")
    policy.check_operator(boss)
    with pytest.raises(OperatorRequired):
        policy.check_operator(agent)
    with pytest.raises(CallerNotAllowed):
        policy.identity_for("someone-else", None)


@pytest.mark.parametrize(
    ("text", "words"),
    [
        ("", "callers: required key is missing"),
        ("[callers]", "callers: Dictionary should have at least 1 item"),
        ('[callers.a]\nallow = ["email.send"]', "callers.a.tenant: required key is missing"),
        ('[callers.a]\ntenant = ""', "callers.a.tenant: String should have at least 1"),
        ('[callers.a]\ntenant = "t"\nalow = ["email.send"]', "callers.a.alow: unknown key"),
        ('[callers.a]\ntenant = "t"\noperator = "yes"', "callers.a.operator"),
        ('[callers.a]\ntenant = "t"\nallow = ["*"]', "must be 'connector.operation'"),
        ('[callers.a]\ntenant = "t"\nallow = ["a.b.c"]', "must be 'connector.operation'"),
        ('[callers.a]\ntenant = "t"\nallow = [".send"]', "must be 'connector.operation'"),
        ('[callers.a]\ntenant = "t"\nallow = "email.send"', "callers.a.allow"),
        ('[callers." a"]\ntenant = "t"', "surrounding spaces"),
        ('[caller.a]\ntenant = "t"', "caller: unknown key"),
        ("[callers.a\ntenant =", "not valid TOML"),
    ],
)
def test_bad_files_are_refused_with_a_clear_message(tmp_path: Path, text: str, words: str) -> None:
    path = tmp_path / "policy.toml"
    path.write_text(text, encoding="utf-8")
    with pytest.raises(ValueError, match="authorization policy") as caught:
        AuthorizationPolicy.load(path)
    assert str(path) in str(caught.value)
    assert words in str(caught.value)


def test_missing_and_unreadable_files(tmp_path: Path) -> None:
    with pytest.raises(ValueError, match="cannot be read"):
        AuthorizationPolicy.load(tmp_path / "absent.toml")
    path = tmp_path / "latin1.toml"
    path.write_bytes(b'[callers.a]\ntenant = "\xe9"\n')
    with pytest.raises(ValueError, match="not UTF-8"):
        AuthorizationPolicy.load(path)


# --- start-up checks -------------------------------------------------------------------------


@pytest.mark.parametrize(
    "address",
    ["0.0.0.0:50051", "10.1.2.3:50051", "[::]:50051", ":50051", "gateway.internal:50051"],
)
def test_development_mode_refuses_non_loopback_addresses(address: str) -> None:
    for grpc_address, http_address in ((address, "127.0.0.1:8080"), ("127.0.0.1:1", address)):
        with pytest.raises(ValueError, match="refusing to start without authentication") as e:
            assert_safe_to_start(AuthSettings(), grpc_address, http_address)
        assert address in str(e.value)
        assert "auth.mode = enforced" in str(e.value)


@pytest.mark.parametrize(
    "address",
    [
        "127.0.0.1:50051",
        "127.0.0.2:50051",
        "[::1]:50051",
        "::1",
        "localhost:50051",
        "[::ffff:127.0.0.1]:1",
        "unix:/run/gw.sock",
    ],
)
def test_development_mode_allows_loopback_addresses(address: str) -> None:
    assert_safe_to_start(AuthSettings(), address, address)


def test_enforced_mode_needs_a_credential_and_a_policy(tmp_path: Path) -> None:
    policy = tmp_path / "policy.toml"
    jwt = JwtSettings(
        issuer="i", audience="a", keys=[JwtKey(path=tmp_path / "k", algorithm="RS256")]
    )
    tls_only = TlsSettings(cert_file=tmp_path / "c", key_file=tmp_path / "k")
    mtls = tls_only.model_copy(update={"client_ca_file": tmp_path / "ca"})
    with pytest.raises(ValueError, match=r"set auth\.jwt .* or auth\.tls\.client_ca_file"):
        assert_safe_to_start(AuthSettings(mode="enforced", policy_file=policy), "0.0.0.0:1", "")
    with pytest.raises(ValueError, match="client_ca_file"):
        assert_safe_to_start(
            AuthSettings(mode="enforced", policy_file=policy, tls=tls_only), "0.0.0.0:1", ""
        )
    with pytest.raises(ValueError, match=r"auth\.policy_file"):
        assert_safe_to_start(AuthSettings(mode="enforced", jwt=jwt), "0.0.0.0:1", "")
    assert_safe_to_start(
        AuthSettings(mode="enforced", jwt=jwt, policy_file=policy, tls=tls_only),
        "0.0.0.0:1",
        "0.0.0.0:2",
    )
    assert_safe_to_start(
        AuthSettings(mode="enforced", tls=mtls, policy_file=policy), "0.0.0.0:1", "0.0.0.0:2"
    )


@pytest.mark.parametrize(
    ("grpc_address", "http_address", "exposed"),
    [
        ("0.0.0.0:50051", "127.0.0.1:8080", "0.0.0.0:50051"),
        ("127.0.0.1:50051", "[::]:8080", "[::]:8080"),
        ("10.1.2.3:50051", "gateway.internal:8080", "10.1.2.3:50051, gateway.internal:8080"),
    ],
)
def test_enforced_mode_refuses_clear_text_off_loopback(
    tmp_path: Path, grpc_address: str, http_address: str, exposed: str
) -> None:
    jwt = JwtSettings(
        issuer="i", audience="a", keys=[JwtKey(path=tmp_path / "k", algorithm="RS256")]
    )
    plain = AuthSettings(mode="enforced", jwt=jwt, policy_file=tmp_path / "policy.toml")
    with pytest.raises(ValueError, match="refusing to serve clear text") as refused:
        assert_safe_to_start(plain, grpc_address, http_address)
    message = str(refused.value)
    assert f"on {exposed}:" in message
    assert "auth.tls " in message
    assert "auth.tls_terminated_upstream = true" in message
    assert clear_text_warning(plain, "127.0.0.1:1", "localhost:2") is None
    assert_safe_to_start(plain, "127.0.0.1:1", "localhost:2")  # loopback stays on this machine

    upstream = plain.model_copy(update={"tls_terminated_upstream": True})
    assert_safe_to_start(upstream, grpc_address, http_address)
    warning = clear_text_warning(upstream, grpc_address, http_address)
    assert warning is not None
    assert exposed in warning
    assert "auth.tls_terminated_upstream" in warning
    tls = TlsSettings(cert_file=tmp_path / "c", key_file=tmp_path / "k")
    with_tls = plain.model_copy(update={"tls": tls})
    assert_safe_to_start(with_tls, grpc_address, http_address)
    assert clear_text_warning(with_tls, grpc_address, http_address) is None


def test_auth_settings_defaults_and_validation() -> None:
    settings = AuthSettings()
    assert settings.mode == "development"
    assert (settings.dev_caller, settings.dev_operator) == ("local-agent", "local-operator")
    assert not settings.mtls
    with pytest.raises(ValueError, match="must differ"):
        AuthSettings(dev_caller="x", dev_operator="x")
    with pytest.raises(ValueError, match="operator_claim"):
        JwtSettings.model_validate(
            {"issuer": "i", "audience": "a", "keys": [], "operator_claim": "op"}
        )


def test_development_banner_names_the_dev_identities() -> None:
    banner = development_banner(AuthSettings(dev_caller="me", dev_operator="boss"))
    assert "AUTHENTICATION IS OFF" in banner
    assert "'me'" in banner
    assert "'boss'" in banner
    assert "x-connector-gateway-dev-caller" in banner
    assert len(banner.splitlines()) > 5
    assert len({len(line) for line in banner.splitlines()}) == 1  # a tidy box
