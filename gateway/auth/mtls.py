"""TLS for the gRPC port, and the caller named by a verified client certificate (mTLS).

With ``auth.tls.client_ca_file`` set, grpcio requires every client to present a certificate
issued by that CA and refuses the TLS handshake otherwise, so a certificate that reaches the
gateway's code has been verified. Its identity is read from the call's auth context
(``context.auth_context()`` on the grpc.aio ``ServicerContext``).
"""

from __future__ import annotations

import ipaddress
from collections.abc import Iterable, Mapping
from pathlib import Path
from typing import Any

import grpc

from gateway.auth.caller_ids import SPIFFE, certificate_uri_caller, common_name_caller
from gateway.auth.settings import TlsSettings

SECURITY_TYPE = "transport_security_type"
SAN = "x509_subject_alternative_name"
COMMON_NAME = "x509_common_name"
PEER_URI = "peer_uri"  # set by newer gRPC cores for URI SANs only


def _read(path: Path, what: str) -> bytes:
    try:
        data = path.read_bytes()
    except OSError as error:
        raise ValueError(
            f"auth.tls {what} {path}: cannot be read: {error.strerror or error}"
        ) from None
    if b"-----BEGIN" not in data:
        raise ValueError(f"auth.tls {what} {path}: not a PEM file")
    return data


def server_credentials(tls: TlsSettings) -> grpc.ServerCredentials:
    """The gRPC port's TLS credentials; with a client CA, client certificates are required."""
    key = _read(tls.key_file, "key_file")
    cert = _read(tls.cert_file, "cert_file")
    client_ca = _read(tls.client_ca_file, "client_ca_file") if tls.client_ca_file else None
    return grpc.ssl_server_credentials(
        [(key, cert)],
        root_certificates=client_ca,
        require_client_auth=client_ca is not None,
    )


def _texts(values: Iterable[bytes | str] | None) -> list[str]:
    texts = []
    for value in values or ():
        text = value.decode("utf-8", "replace") if isinstance(value, bytes) else value
        if text:
            texts.append(text)
    return texts


def _is_uri(text: str) -> bool:
    """Whether a SAN entry is a URI: DNS names and e-mail addresses hold no colon, and an
    IPv6 address is the only other SAN with one."""
    if ":" not in text:
        return False
    try:
        ipaddress.ip_address(text)
    except ValueError:
        return True
    return False


def caller_from_peer(auth_context: Mapping[str, Iterable[bytes]]) -> str | None:
    """The caller id of the peer's verified client certificate, or None without one.

    A URI SAN (a SPIFFE id first) is preferred, else the subject's common name; the id is
    namespaced (``spiffe://...``, ``uri:<uri>``, ``cert:<common name>``, see
    ``gateway.auth.caller_ids``) so that no bearer token can name the same caller.
    """
    if b"ssl" not in set(auth_context.get(SECURITY_TYPE) or ()):
        return None
    uris = _texts(auth_context.get(PEER_URI)) or [
        text for text in _texts(auth_context.get(SAN)) if _is_uri(text)
    ]
    spiffe = [uri for uri in uris if uri.startswith(SPIFFE)]
    if spiffe or uris:
        return certificate_uri_caller((spiffe or uris)[0])
    names = _texts(auth_context.get(COMMON_NAME))
    return common_name_caller(names[0]) if names else None


def peer_context(certificate: Mapping[str, Any] | None) -> dict[str, list[bytes]]:
    """The auth context ``caller_from_peer`` reads, from a client certificate Python's ``ssl``
    verified (``SSLSocket.getpeercert()``): the HTTP side names a certificate's caller exactly
    as gRPC does. Empty without a certificate."""
    if not certificate:
        return {}
    sans = [
        str(value).encode()
        for kind, value in certificate.get("subjectAltName", ())
        if kind in ("URI", "DNS")
    ]
    names = [
        str(value).encode()
        for rdn in certificate.get("subject", ())
        for key, value in rdn
        if key == "commonName"
    ]
    return {SECURITY_TYPE: [b"ssl"], SAN: sans, COMMON_NAME: names}
