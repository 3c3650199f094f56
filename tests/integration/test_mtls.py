"""Mutual TLS with a real grpc.aio server: who the client certificate names, and who is
refused by the handshake itself."""

from __future__ import annotations

from collections.abc import AsyncIterator, Awaitable, Callable
from pathlib import Path

import grpc
import pytest

from gateway.auth.mtls import caller_from_peer, server_credentials
from gateway.auth.settings import TlsSettings
from tests.support.pki import SPIFFE_ID, Issued, Pki, make_pki, write_tls

METHOD = "/test.Whoami/Get"


@pytest.fixture(scope="module")
def pki() -> Pki:
    return make_pki()


async def _whoami(request: bytes, context: grpc.aio.ServicerContext[bytes, bytes]) -> bytes:
    caller = caller_from_peer(context.auth_context())
    return b"<none>" if caller is None else caller.encode()


Serve = Callable[[TlsSettings], Awaitable[int]]


@pytest.fixture
async def serve() -> AsyncIterator[Serve]:
    servers: list[grpc.aio.Server] = []

    async def start(tls: TlsSettings) -> int:
        server = grpc.aio.server()
        server.add_generic_rpc_handlers(
            [
                grpc.method_handlers_generic_handler(
                    "test.Whoami", {"Get": grpc.unary_unary_rpc_method_handler(_whoami)}
                )
            ]
        )
        port = server.add_secure_port("127.0.0.1:0", server_credentials(tls))
        await server.start()
        servers.append(server)
        return port

    yield start
    for server in servers:
        await server.stop(None)


async def _call(port: int, ca: bytes, client: Issued | None) -> bytes:
    credentials = grpc.ssl_channel_credentials(
        root_certificates=ca,
        private_key=client.key if client else None,
        certificate_chain=client.cert if client else None,
    )
    async with grpc.aio.secure_channel(f"127.0.0.1:{port}", credentials) as channel:
        call = channel.unary_unary(METHOD, request_serializer=None, response_deserializer=None)
        answer: bytes = await call(b"", timeout=10)
        return answer


async def test_client_certificate_names_the_caller(tmp_path: Path, pki: Pki, serve: Serve) -> None:
    port = await serve(write_tls(tmp_path, pki, client_ca=True))
    assert await _call(port, pki.ca.pem, pki.uri_client) == SPIFFE_ID.encode()
    assert await _call(port, pki.ca.pem, pki.cn_client) == b"cert:agent-b"


async def test_client_without_certificate_is_refused_by_tls(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(write_tls(tmp_path, pki, client_ca=True))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(port, pki.ca.pem, None)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_certificate_of_another_ca_is_refused_by_tls(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(write_tls(tmp_path, pki, client_ca=True))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(port, pki.ca.pem, pki.stranger)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_server_tls_without_client_ca_names_no_caller(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(write_tls(tmp_path, pki, client_ca=False))
    assert await _call(port, pki.ca.pem, None) == b"<none>"
    # an offered certificate is not even asked for, so it names no one
    assert await _call(port, pki.ca.pem, pki.uri_client) == b"<none>"


def test_bad_tls_files_are_refused_at_start_up(tmp_path: Path, pki: Pki) -> None:
    tls = write_tls(tmp_path, pki, client_ca=True)
    missing = tls.model_copy(update={"client_ca_file": tmp_path / "absent.crt"})
    with pytest.raises(ValueError, match=r"client_ca_file .*absent\.crt: cannot be read"):
        server_credentials(missing)
    (tmp_path / "garbage.key").write_bytes(b"not a key")
    garbage = tls.model_copy(update={"key_file": tmp_path / "garbage.key"})
    with pytest.raises(ValueError, match=r"key_file .* not a PEM file") as caught:
        server_credentials(garbage)
    assert "not a key" not in str(caught.value)
