"""Who is calling: a bearer token, else a verified client certificate, else (development only)
the local development caller.

A credential that is present but wrong is refused, never skipped in favour of another way in:
a call with a bad token is not let through on its client certificate or as the dev caller.
"""

from __future__ import annotations

import ipaddress
import logging
import re
from collections.abc import Iterable, Mapping, Sequence

from gateway.auth.caller_ids import JWT, old_form_problem, token_caller
from gateway.auth.mtls import caller_from_peer
from gateway.auth.policy import AuthorizationPolicy
from gateway.auth.settings import AuthSettings
from gateway.auth.tokens import TokenVerifier
from gateway.call import Credentials
from gateway.errors import CredentialsMissing, TokenInvalid
from gateway.identity import Identity

log = logging.getLogger(__name__)

AUTHORIZATION = "authorization"
DEV_CALLER_HEADER = "x-connector-gateway-dev-caller"

Metadata = Sequence[tuple[str, str | bytes]]
# Whitespace as str.isspace() has it (the same Unicode table), found in one C scan.
_WHITESPACE = re.compile(r"\s")


def _values(metadata: Metadata, key: str) -> list[str]:
    return [
        value.decode("latin-1") if isinstance(value, bytes) else value
        for name, value in metadata
        if name.lower() == key
    ]


def _bearer_token(value: str) -> str:
    scheme, _, token = value.strip().partition(" ")
    token = token.strip()
    if scheme.lower() != "bearer" or not token or _WHITESPACE.search(token):
        raise TokenInvalid(
            "the authorization metadata must be 'Bearer <token>' with the token exactly as "
            "the issuer gave it"
        )
    return token


def build_policy(settings: AuthSettings) -> AuthorizationPolicy:
    """The policy file's policy, else (development mode only) the development policy."""
    if settings.policy_file is not None:
        policy = AuthorizationPolicy.load(settings.policy_file)
        if settings.mode == "development" and policy.rule(settings.dev_caller) is None:
            raise ValueError(
                f"authorization policy {settings.policy_file}: auth.dev_caller "
                f"{settings.dev_caller!r} is not one of its callers; add it, or set "
                "auth.dev_caller to one of them"
            )
        if settings.mode == "enforced":
            _check_enforced_callers(settings, policy)
        return policy
    if settings.mode == "enforced":
        raise ValueError(
            "auth.mode = enforced needs auth.policy_file: the authorization policy names the "
            "callers, their tenants and what they may call"
        )
    return AuthorizationPolicy.development(settings.dev_caller, settings.dev_operator)


def _check_enforced_callers(settings: AuthSettings, policy: AuthorizationPolicy) -> None:
    """Every caller of an enforced policy must name how it is proven: a plain name could be
    claimed by a token's sub and a certificate's common name alike."""
    issuer = settings.jwt.issuer if settings.jwt is not None else None
    for caller in policy.callers:
        problem = old_form_problem(caller, issuer=issuer, certificates=settings.mtls)
        if problem is not None:
            raise ValueError(
                f"authorization policy {settings.policy_file}: {problem} (caller ids name "
                "how the caller is proven; see the README, 'Caller identity')"
            )
        if caller.startswith(JWT) and (
            issuer is None or not caller.startswith(token_caller(issuer, ""))
        ):
            log.warning(
                "authorization policy %s: caller %r names a token issuer other than auth.jwt's "
                "(%s): no token can name it",
                settings.policy_file,
                caller,
                issuer or "none configured",
            )


class Authenticator:
    """Turns a call's metadata and TLS peer into the caller's ``Identity``."""

    def __init__(
        self,
        settings: AuthSettings,
        policy: AuthorizationPolicy,
        verifier: TokenVerifier | None,
    ) -> None:
        if settings.jwt is not None and verifier is None:
            raise ValueError("auth.jwt is set, so the authenticator needs a TokenVerifier")
        self._settings = settings
        self._policy = policy
        self._verifier = verifier

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> Authenticator:
        """Loads the policy and the token keys; raises ValueError naming a bad file."""
        verifier = TokenVerifier(settings.jwt) if settings.jwt is not None else None
        return cls(settings, build_policy(settings), verifier)

    @property
    def policy(self) -> AuthorizationPolicy:
        return self._policy

    def identify(
        self, credentials: Credentials, auth_context: Mapping[str, Iterable[bytes]]
    ) -> Identity:
        """The identity of what a caller presented, over gRPC or HTTP. A browser signs in (its
        session cookie) or sends a bearer token; it is never the development caller, since any
        web page can make a browser send requests to loopback."""
        if not _values(credentials.metadata, AUTHORIZATION):
            if credentials.session is not None:
                return self._policy.identity_for(credentials.session(), None)
            if credentials.browser:
                raise CredentialsMissing(
                    "a browser must sign in: open the login link the gateway logged at start-up "
                    "(`connector-gateway login-url` prints it), or send a bearer token"
                    if self._settings.mode == "development"
                    else "send a bearer token in the Authorization header"
                )
        return self.authenticate(credentials.metadata, auth_context)

    def authenticate(
        self, metadata: Metadata, auth_context: Mapping[str, Iterable[bytes]]
    ) -> Identity:
        """The caller's identity; raises Unauthenticated or CallerNotAllowed."""
        authorization = _values(metadata, AUTHORIZATION)
        if authorization:
            return self._from_token(authorization)
        if self._settings.mtls:
            caller = caller_from_peer(auth_context)
            if caller is not None:
                return self._policy.identity_for(caller, None)
        if self._settings.mode == "development":
            requested = _values(metadata, DEV_CALLER_HEADER)
            caller = requested[0].strip() if requested else self._settings.dev_caller
            return self._policy.identity_for(caller, None)
        raise CredentialsMissing(
            "the call carries no credentials: send a bearer token in the authorization "
            "metadata ('Bearer <token>') or a client certificate"
        )

    def _from_token(self, authorization: list[str]) -> Identity:
        if len(authorization) > 1:
            raise TokenInvalid("send one authorization metadata entry, not several")
        token = _bearer_token(authorization[0])
        if self._verifier is None:
            raise TokenInvalid(
                "this gateway does not accept bearer tokens (auth.jwt is not set); "
                + (
                    "authenticate with a client certificate"
                    if self._settings.mtls
                    else "send no authorization metadata"
                )
            )
        verified = self._verifier.verify(token)
        caller = token_caller(verified.issuer, verified.subject)
        return self._policy.identity_for(caller, verified.tenant)


def _is_local(address: str) -> bool:
    """Whether a listening address is reachable from this machine only."""
    if address.startswith(("unix:", "unix-abstract:")):
        return True
    host = address.strip()
    try:
        ipaddress.ip_address(host.strip("[]"))
    except ValueError:
        host = host.rpartition(":")[0] if ":" in host else host
    host = host.strip("[]").lower()
    if host == "localhost":
        return True
    try:
        ip = ipaddress.ip_address(host)
    except ValueError:
        return False  # a host name, or empty (every interface)
    if isinstance(ip, ipaddress.IPv6Address) and ip.ipv4_mapped is not None:
        return ip.ipv4_mapped.is_loopback
    return ip.is_loopback


def assert_safe_to_start(settings: AuthSettings, grpc_address: str, http_address: str) -> None:
    """Raises ValueError for an authentication set-up the gateway must not start with."""
    if settings.mode == "development":
        for address in (grpc_address, http_address):
            if not _is_local(address):
                raise ValueError(
                    f"refusing to start without authentication on {address}: set "
                    "auth.mode = enforced with JWT keys or mTLS (or listen on 127.0.0.1 for "
                    "local development)"
                )
        return
    if settings.jwt is None and not settings.mtls:
        raise ValueError(
            "auth.mode = enforced needs a way to authenticate callers: set auth.jwt (bearer "
            "tokens) or auth.tls.client_ca_file (client certificates)"
        )
    if settings.policy_file is None:
        raise ValueError(
            "auth.mode = enforced needs auth.policy_file: the authorization policy names the "
            "callers, their tenants and what they may call"
        )
    exposed = _exposed(grpc_address, http_address)
    if exposed and settings.tls is None and not settings.tls_terminated_upstream:
        raise ValueError(
            f"refusing to serve clear text on {', '.join(exposed)}: bearer tokens would travel "
            "unencrypted. Set auth.tls (cert_file, key_file: gRPC and HTTP then serve TLS), or "
            "auth.tls_terminated_upstream = true when a proxy or mesh in front of the gateway "
            "terminates TLS"
        )


def clear_text_warning(settings: AuthSettings, grpc_address: str, http_address: str) -> str | None:
    """The warning to log when an enforced gateway serves clear text off this machine because
    TLS is terminated in front of it; None when there is nothing to warn about."""
    exposed = _exposed(grpc_address, http_address)
    if settings.mode != "enforced" or settings.tls is not None or not exposed:
        return None
    return (
        f"serving clear text on {', '.join(exposed)} (auth.tls_terminated_upstream): bearer "
        "tokens are unencrypted between the TLS terminator and the gateway"
    )


def _exposed(*addresses: str) -> list[str]:
    return [address for address in addresses if not _is_local(address)]


def development_banner(settings: AuthSettings) -> str:
    """The warning logged at start-up when callers are not authenticated."""
    if settings.policy_file is None:
        allowed = "allowed every connector operation of tenant 'default'"
        other = f"{settings.dev_operator!r}, an operator who may approve and deny approvals."
    else:
        allowed = f"allowed what {settings.policy_file} allows it"
        other = f"any caller of {settings.policy_file}."
    lines = [
        "AUTHENTICATION IS OFF: auth.mode = development",
        "",
        f"Calls without credentials run as caller {settings.dev_caller!r},",
        f"{allowed}.",
        f"The metadata header {DEV_CALLER_HEADER} picks another caller:",
        other,
        "Bearer tokens and client certificates are still checked when sent.",
        "Over HTTP, browsers must sign in with the login link logged below",
        "(`connector-gateway login-url` prints a fresh one).",
        "",
        "This is for one machine only: the gateway listens on loopback addresses only.",
        "Anywhere else set auth.mode = enforced, auth.policy_file and auth.jwt or",
        "auth.tls.client_ca_file.",
    ]
    width = max(len(line) for line in lines)
    border = "!" * (width + 6)
    return "\n".join([border, *(f"!! {line.ljust(width)} !!" for line in lines), border])
