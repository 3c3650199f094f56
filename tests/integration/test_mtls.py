"""Mutual TLS with a real grpc.aio server: who the client certificate names, and who is
refused by the handshake itself."""

from __future__ import annotations

import ipaddress
from collections.abc import AsyncIterator, Awaitable, Callable
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import grpc
import pytest
from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.auth.mtls import caller_from_peer, server_credentials
from gateway.auth.settings import TlsSettings

SPIFFE_ID = "spiffe://example.org/ns/agents/sa/agent-a"
METHOD = "/test.Whoami/Get"


@dataclass(frozen=True)
class Issued:
    key: bytes
    cert: bytes


def _key_pem(key: Any) -> bytes:
    pem: bytes = key.private_bytes(
        serialization.Encoding.PEM,
        serialization.PrivateFormat.PKCS8,
        serialization.NoEncryption(),
    )
    return pem


class Authority:
    """A throw-away certificate authority."""

    def __init__(self, name: str) -> None:
        self.key = ec.generate_private_key(ec.SECP256R1())
        self.name = x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, name)])
        now = datetime.now(UTC)
        self.cert = (
            x509.CertificateBuilder()
            .subject_name(self.name)
            .issuer_name(self.name)
            .public_key(self.key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=True, path_length=0), critical=True)
            .add_extension(
                x509.KeyUsage(
                    digital_signature=True,
                    key_cert_sign=True,
                    crl_sign=True,
                    content_commitment=False,
                    key_encipherment=False,
                    data_encipherment=False,
                    key_agreement=False,
                    encipher_only=False,
                    decipher_only=False,
                ),
                critical=True,
            )
            .sign(self.key, hashes.SHA256())
        )
        self.pem = self.cert.public_bytes(serialization.Encoding.PEM)

    def issue(
        self,
        common_name: str,
        sans: list[x509.GeneralName],
        *,
        server: bool = False,
        key: Any = None,
    ) -> Issued:
        key = key or ec.generate_private_key(ec.SECP256R1())
        now = datetime.now(UTC)
        builder = (
            x509.CertificateBuilder()
            .subject_name(x509.Name([x509.NameAttribute(NameOID.COMMON_NAME, common_name)]))
            .issuer_name(self.name)
            .public_key(key.public_key())
            .serial_number(x509.random_serial_number())
            .not_valid_before(now - timedelta(minutes=5))
            .not_valid_after(now + timedelta(days=1))
            .add_extension(x509.BasicConstraints(ca=False, path_length=None), critical=True)
            .add_extension(
                x509.ExtendedKeyUsage(
                    [ExtendedKeyUsageOID.SERVER_AUTH if server else ExtendedKeyUsageOID.CLIENT_AUTH]
                ),
                critical=False,
            )
        )
        if sans:
            builder = builder.add_extension(x509.SubjectAlternativeName(sans), critical=False)
        cert = builder.sign(self.key, hashes.SHA256())
        return Issued(_key_pem(key), cert.public_bytes(serialization.Encoding.PEM))


@dataclass(frozen=True)
class Pki:
    ca: Authority
    server: Issued
    uri_client: Issued
    cn_client: Issued
    stranger: Issued  # issued by another CA, with the same names


@pytest.fixture(scope="module")
def pki() -> Pki:
    ca = Authority("Gateway Test CA")
    server = ca.issue(
        "gateway",
        [x509.DNSName("localhost"), x509.IPAddress(ipaddress.ip_address("127.0.0.1"))],
        server=True,
        key=rsa.generate_private_key(public_exponent=65537, key_size=2048),
    )
    uri_client = ca.issue(
        "agent-a-cn",
        [x509.DNSName("agent-a.example"), x509.UniformResourceIdentifier(SPIFFE_ID)],
    )
    cn_client = ca.issue("agent-b", [])
    stranger = Authority("Other CA").issue("agent-b", [x509.UniformResourceIdentifier(SPIFFE_ID)])
    return Pki(ca, server, uri_client, cn_client, stranger)


def _write(folder: Path, pki: Pki, *, client_ca: bool) -> TlsSettings:
    (folder / "server.key").write_bytes(pki.server.key)
    (folder / "server.crt").write_bytes(pki.server.cert)
    (folder / "ca.crt").write_bytes(pki.ca.pem)
    return TlsSettings(
        cert_file=folder / "server.crt",
        key_file=folder / "server.key",
        client_ca_file=folder / "ca.crt" if client_ca else None,
    )


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
    port = await serve(_write(tmp_path, pki, client_ca=True))
    assert await _call(port, pki.ca.pem, pki.uri_client) == SPIFFE_ID.encode()
    assert await _call(port, pki.ca.pem, pki.cn_client) == b"agent-b"


async def test_client_without_certificate_is_refused_by_tls(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(_write(tmp_path, pki, client_ca=True))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(port, pki.ca.pem, None)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_client_certificate_of_another_ca_is_refused_by_tls(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(_write(tmp_path, pki, client_ca=True))
    with pytest.raises(grpc.aio.AioRpcError) as caught:
        await _call(port, pki.ca.pem, pki.stranger)
    assert caught.value.code() == grpc.StatusCode.UNAVAILABLE


async def test_server_tls_without_client_ca_names_no_caller(
    tmp_path: Path, pki: Pki, serve: Serve
) -> None:
    port = await serve(_write(tmp_path, pki, client_ca=False))
    assert await _call(port, pki.ca.pem, None) == b"<none>"
    # an offered certificate is not even asked for, so it names no one
    assert await _call(port, pki.ca.pem, pki.uri_client) == b"<none>"


def test_bad_tls_files_are_refused_at_start_up(tmp_path: Path, pki: Pki) -> None:
    tls = _write(tmp_path, pki, client_ca=True)
    missing = tls.model_copy(update={"client_ca_file": tmp_path / "absent.crt"})
    with pytest.raises(ValueError, match=r"client_ca_file .*absent\.crt: cannot be read"):
        server_credentials(missing)
    (tmp_path / "garbage.key").write_bytes(b"not a key")
    garbage = tls.model_copy(update={"key_file": tmp_path / "garbage.key"})
    with pytest.raises(ValueError, match=r"key_file .* not a PEM file") as caught:
        server_credentials(garbage)
    assert "not a key" not in str(caught.value)
