"""The host names the HTTP side answers to, from its settings, and reading Host and Origin."""

from __future__ import annotations

import pytest

from gateway.http.hosts import AllowedHosts, host_name, origin_host


def test_development_answers_to_loopback_names_only() -> None:
    hosts = AllowedHosts.from_settings([], "127.0.0.1:8080", development=True)
    assert hosts.names == frozenset({"localhost", "127.0.0.1", "::1"})
    on_other_loopback = AllowedHosts.from_settings([], "127.0.0.2:8080", development=True)
    assert on_other_loopback.allows("127.0.0.2")
    assert not hosts.allows("evil.example")
    assert not hosts.allows(None)


def test_enforced_answers_to_its_address_or_to_any_host_on_a_wildcard() -> None:
    specific = AllowedHosts.from_settings([], "10.1.2.3:8080", development=False)
    assert specific.names == frozenset({"10.1.2.3"})
    for wildcard in ("0.0.0.0:8080", "[::]:8080", ":8080"):
        anywhere = AllowedHosts.from_settings([], wildcard, development=False)
        assert anywhere.names is None
        assert anywhere.allows("gateway.example")
        assert anywhere.describe() == "any host"


def test_configured_names_win_with_ports_and_brackets_ignored() -> None:
    hosts = AllowedHosts.from_settings(
        ["Gateway.Example", "gw.example:8443", "[::1]", "fe80::1"],
        "0.0.0.0:8080",
        development=False,
    )
    assert hosts.names == frozenset({"gateway.example", "gw.example", "::1", "fe80::1"})
    assert AllowedHosts.from_settings(["*"], "127.0.0.1:1", development=True).names is None


@pytest.mark.parametrize(
    ("header", "host"),
    [
        ("localhost:8080", "localhost"),
        ("LOCALHOST.", "localhost"),
        ("[::1]:8080", "::1"),
        ("127.0.0.1", "127.0.0.1"),
        ("::1", None),  # an IPv6 address must be bracketed
        ("evil.example:http", None),
        ("[::1]x", None),
        ("", None),
    ],
)
def test_host_header(header: str, host: str | None) -> None:
    assert host_name(header) == host


@pytest.mark.parametrize(
    ("origin", "host"),
    [
        ("http://127.0.0.1:8080", "127.0.0.1"),
        ("https://[::1]", "::1"),
        ("null", None),
        ("file://", None),
        ("http://evil.example/path", None),
        ("http://user@127.0.0.1", None),
        ("chrome-extension://abc", None),
    ],
)
def test_origin_header(origin: str, host: str | None) -> None:
    assert origin_host(origin) == host
