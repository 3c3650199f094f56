"""With ``auth.tls`` set, the HTTP side serves HTTPS with the gRPC side's certificate."""

from __future__ import annotations

import json
import ssl
from pathlib import Path

import aiohttp
import pytest

from gateway.app import Gateway
from gateway.registry import Connector
from tests.support.fake_adapter import FakeAdapter
from tests.support.gateway import gateway_settings
from tests.support.pki import Pki, make_pki, write_tls
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
