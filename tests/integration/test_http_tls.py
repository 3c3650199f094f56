"""With ``auth.tls`` set, the HTTP side serves HTTPS with the gRPC side's certificate."""

from __future__ import annotations

import json
import sqlite3
import ssl
from pathlib import Path

import aiohttp
import pytest

from gateway.app import Gateway
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings
from tests.support.pki import SPIFFE_ID, Issued, Pki, make_pki, write_tls
from tests.support.tokens import token_kit


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


def trusting(pki: Pki) -> ssl.SSLContext:
    return ssl.create_default_context(cadata=pki.ca.pem.decode())


async def test_https_carries_bearer_tokens_with_the_grpc_certificate(
    tmp_path: Path, pki: Pki
) -> None:
    tls = write_tls(tmp_path, pki, client_ca=False)
    kit = token_kit(tmp_path)
    settings = gateway_settings(
        tmp_path / "var", auth={**kit.auth_settings(), "tls": tls.model_dump(mode="json")}
    )
    gateway = Gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)])
    await gateway.start()
    try:
        port = gateway.http_port
        operator = {"Authorization": f"Bearer {kit.token('ops-acme')}"}
        async with aiohttp.ClientSession() as http:
            async with http.get(
                f"https://127.0.0.1:{port}/v1/approvals", headers=operator, ssl=trusting(pki)
            ) as response:
                assert response.status == 200
                assert await response.json() == {"approvals": [], "next_page_token": ""}
            # Nobody is asked for a client certificate, and nothing is served in clear text.
            with pytest.raises(aiohttp.ClientError):
                async with http.get(f"http://127.0.0.1:{port}/healthz") as response:
                    await response.read()
            # An enforced gateway has no login link: browsers bring bearer tokens.
            async with http.get(
                f"https://127.0.0.1:{port}/login?token=x", ssl=trusting(pki)
            ) as response:
                assert response.status == 404
                assert (await response.json())["error"]["reason"] == "ROUTE_NOT_FOUND"
        assert not (tmp_path / "var" / "http-login.json").exists()
    finally:
        await gateway.stop(grace_s=1)


async def test_the_development_login_link_and_cookie_are_for_https(
    tmp_path: Path, pki: Pki
) -> None:
    tls = write_tls(tmp_path, pki, client_ca=False)
    settings = gateway_settings(tmp_path / "var", auth={"tls": tls.model_dump(mode="json")})
    gateway = Gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)])
    await gateway.start()
    try:
        login = json.loads((tmp_path / "var" / "http-login.json").read_text())
        assert login["url"].startswith(f"https://127.0.0.1:{gateway.http_port}/login?token=")
        async with (
            aiohttp.ClientSession() as http,
            http.get(login["url"], ssl=trusting(pki), allow_redirects=False) as response,
        ):
            assert response.status == 303
            assert "Secure" in response.headers["Set-Cookie"]
    finally:
        await gateway.stop(grace_s=1)


def presenting(pki: Pki, client: Issued, folder: Path) -> ssl.SSLContext:
    """A client context that trusts the gateway and presents ``client``'s certificate."""
    (folder / "client.crt").write_bytes(client.cert)
    (folder / "client.key").write_bytes(client.key)
    context = trusting(pki)
    context.load_cert_chain(folder / "client.crt", folder / "client.key")
    return context


async def test_a_client_certificate_names_the_caller_over_https(tmp_path: Path, pki: Pki) -> None:
    """With a client CA, HTTPS callers may authenticate as gRPC callers do: the verified
    certificate names the caller (its SPIFFE id, else its common name); a bearer token still
    works, a certificate of another CA fails the handshake, and nothing is read without either."""
    tls = write_tls(tmp_path, pki, client_ca=True)
    kit = token_kit(tmp_path)
    policy = tmp_path / "policy-with-certificates.toml"
    policy.write_text(
        kit.policy_file.read_text()
        + f'\n[callers."{SPIFFE_ID}"]\ntenant = "acme"\nallow = []\noperator = true\n'
        + '\n[callers."cert:agent-b"]\ntenant = "globex"\nallow = []\n'
    )
    auth = {**kit.auth_settings(), "policy_file": str(policy), "tls": tls.model_dump(mode="json")}
    settings = gateway_settings(tmp_path / "var", auth=auth)
    gateway = Gateway(settings, connectors=[Connector(FakeAdapter(), registered=True)])
    await gateway.start()
    try:
        url = f"https://127.0.0.1:{gateway.http_port}"
        operator = presenting(pki, pki.uri_client, tmp_path)
        async with aiohttp.ClientSession() as http:
            # The SPIFFE certificate is an operator of acme: the approval queue is theirs.
            async with http.get(f"{url}/v1/approvals", ssl=operator) as response:
                assert response.status == 200
                assert await response.json() == {"approvals": [], "next_page_token": ""}
            # The common-name certificate is an agent of globex, not an operator.
            agent = presenting(pki, pki.cn_client, tmp_path)
            async with http.get(f"{url}/v1/approvals", ssl=agent) as response:
                assert response.status == 403
            # The governance board reads as the certificate's caller.
            async with http.get(f"{url}/api/v1/connectors/governance", ssl=operator) as response:
                assert response.status == 200
                assert (await response.json())["total"] == 1
            # Without a certificate or a token, nothing is read.
            async with http.get(f"{url}/v1/approvals", ssl=trusting(pki)) as response:
                assert response.status == 401
                assert (await response.json())["error"]["reason"] == "CREDENTIALS_MISSING"
            # A bearer token needs no certificate.
            bearer = {"Authorization": f"Bearer {kit.token('ops-acme')}"}
            async with http.get(
                f"{url}/v1/approvals", headers=bearer, ssl=trusting(pki)
            ) as response:
                assert response.status == 200
            # A certificate from another CA never gets past the handshake.
            with pytest.raises(aiohttp.ClientError):
                async with http.get(
                    f"{url}/v1/approvals", ssl=presenting(pki, pki.stranger, tmp_path)
                ) as response:
                    await response.read()
        # The refusal is audited under the caller the certificate names.
        refused = [r for r in _audit_rows(settings.database_path) if r["caller"]]
        assert [(r["caller"], r["status_code"]) for r in refused] == [
            ("cert:agent-b", "PERMISSION_DENIED")
        ]
    finally:
        await gateway.stop(grace_s=1)


def _audit_rows(database: Path) -> list[dict[str, object]]:
    with sqlite3.connect(database) as conn:
        conn.row_factory = sqlite3.Row
        return [dict(r) for r in conn.execute("SELECT * FROM audit_events")]
