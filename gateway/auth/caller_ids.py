"""Caller ids: one namespace per way of proving who you are.

A bearer token and a client certificate are vouched for by different authorities (the token
issuer, the client CA), so the names they carry must never meet: a token whose ``sub`` is a
workload's SPIFFE id must not get that workload's rights. Every authenticated caller id
therefore says how it was proven:

* ``jwt:<issuer>#<sub>``: a bearer token of that issuer;
* ``spiffe://<trust domain>/<path>``: a client certificate with that SPIFFE id as URI SAN;
* ``uri:<uri>``: a client certificate with another URI SAN;
* ``cert:<common name>``: a client certificate named by its subject's common name.

Development callers (``local-agent``, ``local-operator``, the dev caller header) keep plain
names: no credential produces a name without a namespace, so none can be impersonated.
"""

from __future__ import annotations

JWT = "jwt:"
SPIFFE = "spiffe://"
URI = "uri:"
CERT = "cert:"
NAMESPACES = (JWT, SPIFFE, URI, CERT)


def token_caller(issuer: str, subject: str) -> str:
    """The caller id of a verified bearer token."""
    return f"{JWT}{issuer}#{subject}"


def certificate_uri_caller(uri: str) -> str:
    """The caller id of a client certificate named by a URI SAN."""
    return uri if uri.startswith(SPIFFE) else f"{URI}{uri}"


def common_name_caller(common_name: str) -> str:
    """The caller id of a client certificate named by its common name."""
    return f"{CERT}{common_name}"


def is_namespaced(caller: str) -> bool:
    """Whether a caller id says how it was proven (else it is a development name)."""
    return caller.startswith(NAMESPACES)


def credential_name(caller: str) -> str:
    """The name the credential itself carries: a token's ``sub``, a certificate's URI or
    common name; a development name is its own. (For ``jwt:`` ids the issuer is taken to end
    at the first ``#``, as an issuer URL has no fragment.)"""
    if caller.startswith(JWT):
        return caller.partition("#")[2]
    if caller.startswith((URI, CERT)):
        return caller.partition(":")[2]
    return caller


def shape_problem(caller: str) -> str | None:
    """What is wrong with a namespaced caller id, or None (plain names are not judged)."""
    if caller.startswith(JWT):
        issuer, hash_sign, subject = caller.removeprefix(JWT).partition("#")
        if not issuer or not hash_sign or not subject:
            return f"caller {caller!r} must be 'jwt:<issuer>#<sub>', both parts non-empty"
    elif caller.startswith(SPIFFE):
        if not caller.removeprefix(SPIFFE).strip("/"):
            return f"caller {caller!r} must be a SPIFFE id: 'spiffe://<trust domain>/<path>'"
    elif caller.startswith(URI):
        if ":" not in caller.removeprefix(URI):
            return f"caller {caller!r} must be 'uri:' followed by a URI (with its scheme)"
    elif caller.startswith(CERT) and not caller.removeprefix(CERT):
        return f"caller {caller!r} must be 'cert:<common name>', the name non-empty"
    return None


def old_form_problem(caller: str, *, issuer: str | None, certificates: bool) -> str | None:
    """Why an entry of an enforced policy is in the old, unnamespaced form, showing the new
    form for the ways of authenticating that are configured; None when it is namespaced."""
    if is_namespaced(caller):
        return None
    if ":" in caller:  # a URI SAN written bare
        return (
            f"caller {caller!r} is in the old form: write {certificate_uri_caller(caller)!r} "
            "for a client certificate with this URI SAN"
        )
    forms = []
    if issuer is not None or not certificates:
        shown = token_caller(issuer or "<issuer>", caller)
        forms.append(f"{shown!r} for a bearer token of the configured issuer")
    if certificates or issuer is None:
        forms.append(f"{common_name_caller(caller)!r} for a certificate's common name")
    return f"caller {caller!r} is in the old form: write " + ", or ".join(forms)
