"""Which host names the HTTP side answers to, and the Host and Origin checks.

A web page cannot choose the Host header its browser sends, only its own name: a page whose
DNS name was rebound to 127.0.0.1 still sends its own name, so checking Host keeps it away
from a gateway on loopback. ``Origin`` names the page behind a change: a change from any page
whose host is not the gateway's own, or from an opaque origin (``null``), is refused.
"""

from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass

from aiohttp import hdrs, web
from aiohttp.typedefs import Handler, Middleware

from gateway.errors import HostNotAllowed, OriginNotAllowed

LOOPBACK_NAMES = ("localhost", "127.0.0.1", "::1")
ANY_HOST = "*"
WILDCARD_ADDRESSES = ("", "0.0.0.0", "::")  # noqa: S104 - names of "every interface", not binds
SAFE_METHODS = frozenset({"GET", "HEAD", "OPTIONS", "TRACE"})


def _is_port(text: str) -> bool:
    return text.isascii() and text.isdigit() and len(text) <= 5


def host_name(authority: str) -> str | None:
    """The host of ``name[:port]`` or ``[v6]:port`` (a Host header, an origin's authority),
    lower-case and without port or trailing dot; None when it is not one."""
    value = authority.strip().lower()
    if value.startswith("["):
        name, bracket, rest = value[1:].partition("]")
        if not bracket or (rest and not (rest[0] == ":" and _is_port(rest[1:]))):
            return None
    else:
        name, colon, port = value.partition(":")
        if colon and not _is_port(port):
            return None
        name = name.rstrip(".")
    return name or None


def _configured_name(entry: str) -> str | None:
    """A name from ``http.allowed_hosts``: a host name or IP, bracketed or not, port ignored."""
    value = entry.strip().lower()
    if value.count(":") > 1 and not value.startswith("["):
        return value  # a bare IPv6 address such as ::1
    return host_name(value)


def address_host(address: str) -> str:
    """The host part of a listening address ``host:port``; "" for every interface."""
    host = address.rpartition(":")[0] if ":" in address else address
    return host.strip().strip("[]").lower()


@dataclass(frozen=True)
class AllowedHosts:
    """The host names requests may be addressed to; ``names`` None accepts any."""

    names: frozenset[str] | None

    @classmethod
    def from_settings(
        cls, configured: Iterable[str], http_address: str, *, development: bool
    ) -> AllowedHosts:
        entries = list(configured)
        if ANY_HOST in entries:
            return cls(None)
        names = {name for name in map(_configured_name, entries) if name}
        if names:
            return cls(frozenset(names))
        bound = address_host(http_address)
        specific = bound not in WILDCARD_ADDRESSES
        if development:
            return cls(frozenset({*LOOPBACK_NAMES, *([bound] if specific else [])}))
        return cls(frozenset({bound}) if specific else None)

    def allows(self, host: str | None) -> bool:
        return host is not None and (self.names is None or host in self.names)

    def describe(self) -> str:
        return "any host" if self.names is None else ", ".join(sorted(self.names))


def origin_host(origin: str) -> str | None:
    """The host of a serialized origin ``scheme://host[:port]``; None for ``null`` and for
    anything that is not an http(s) origin."""
    scheme, separator, authority = origin.strip().partition("://")
    if not separator or scheme.lower() not in ("http", "https"):
        return None
    if any(c in authority for c in "/?#@\\"):
        return None
    return host_name(authority)


def host_guard(allowed: AllowedHosts, *, exempt_paths: frozenset[str]) -> Middleware:
    """Middleware: refuses a Host not allowed and, on changes, an Origin not allowed.

    With any host accepted, an origin must name the host the request was sent to."""

    @web.middleware
    async def check(request: web.Request, handler: Handler) -> web.StreamResponse:
        if request.path in exempt_paths:
            return await handler(request)
        hosts = request.headers.getall(hdrs.HOST, [])
        host = host_name(hosts[0]) if len(hosts) == 1 else None
        if not allowed.allows(host):
            raise HostNotAllowed(
                "this gateway does not answer to the host named in the Host header; if it is "
                "one of its names, add it to http.allowed_hosts",
                metadata={"host": ", ".join(hosts)},
            )
        if request.method not in SAFE_METHODS:
            for origin in request.headers.getall(hdrs.ORIGIN, []):
                named = origin_host(origin)
                if named is None or not (
                    named == host if allowed.names is None else allowed.allows(named)
                ):
                    raise OriginNotAllowed(
                        "changes are accepted only from pages of this gateway's own host names "
                        "(http.allowed_hosts), never from another site or an opaque origin",
                        metadata={"origin": origin},
                    )
        return await handler(request)

    return check
