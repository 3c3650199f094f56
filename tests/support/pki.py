"""A throw-away PKI for mTLS tests: a CA, a server certificate for 127.0.0.1, and clients."""

from __future__ import annotations

import ipaddress
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from cryptography import x509
from cryptography.hazmat.primitives import hashes, serialization
from cryptography.hazmat.primitives.asymmetric import ec, rsa
from cryptography.x509.oid import ExtendedKeyUsageOID, NameOID

from gateway.auth.settings import TlsSettings

SPIFFE_ID = "spiffe://example.org/ns/agents/sa/agent-a"


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


def make_pki() -> Pki:
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


def write_tls(folder: Path, pki: Pki, *, client_ca: bool) -> TlsSettings:
    (folder / "server.key").write_bytes(pki.server.key)
    (folder / "server.crt").write_bytes(pki.server.cert)
    (folder / "ca.crt").write_bytes(pki.ca.pem)
    return TlsSettings(
        cert_file=folder / "server.crt",
        key_file=folder / "server.key",
        client_ca_file=folder / "ca.crt" if client_ca else None,
    )


@dataclass(frozen=True)
class ServerFiles:
    """A server certificate for 127.0.0.1 and the CA that issued it, as PEM files."""

    ca_file: Path
    cert_file: Path
    key_file: Path


def write_server_files(folder: Path) -> ServerFiles:
    """Issues a server certificate for 127.0.0.1 from a new CA and writes the three files."""
    ca = Authority("Peer Test CA")
    server = ca.issue("127.0.0.1", [x509.IPAddress(ipaddress.ip_address("127.0.0.1"))], server=True)
    files = ServerFiles(folder / "ca.crt", folder / "server.crt", folder / "server.key")
    files.ca_file.write_bytes(ca.pem)
    files.cert_file.write_bytes(server.cert)
    files.key_file.write_bytes(server.key)
    return files
