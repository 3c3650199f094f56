"""Building and starting the HTTP side: the HTTP face behind the connection guard, over TLS
whenever ``auth.tls`` is set (client certificates are not asked for: HTTP callers
authenticate with bearer tokens), and the development sign-in link once the port is known.
"""

from __future__ import annotations

import asyncio
import logging
import ssl
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass

from aiohttp import web

from gateway.api.http import HttpFace, Scrape, build_app
from gateway.audit.record import AuditLog
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.auth.authenticator import Authenticator
from gateway.auth.settings import TlsSettings
from gateway.errors import TooManyConnections
from gateway.http.connections import ConnectionGuard
from gateway.http.hosts import AllowedHosts, address_host
from gateway.http.login import SignIn
from gateway.http.refusals import raw_refusal
from gateway.interceptors.base import InFlight, Layer
from gateway.settings import Settings

log = logging.getLogger(__name__)


def tls_context(tls: TlsSettings) -> ssl.SSLContext:
    """The HTTP side's server TLS context, from the same certificate (and client CA) as
    gRPC's."""
    context = ssl.create_default_context(ssl.Purpose.CLIENT_AUTH)
    context.minimum_version = ssl.TLSVersion.TLSv1_2
    try:
        context.load_cert_chain(tls.cert_file, tls.key_file)
    except (OSError, ssl.SSLError) as error:
        raise ValueError(
            f"auth.tls cert_file {tls.cert_file} and key_file {tls.key_file}: cannot be loaded "
            f"for HTTPS: {getattr(error, 'strerror', None) or error}"
        ) from None
    if tls.client_ca_file is not None:
        # Optional, unlike gRPC's: a browser or a scraper may bring a bearer token instead.
        # A certificate sent is verified against the client CA, or the handshake fails.
        try:
            context.load_verify_locations(cafile=tls.client_ca_file)
        except (OSError, ssl.SSLError) as error:
            raise ValueError(
                f"auth.tls client_ca_file {tls.client_ca_file}: cannot be loaded for HTTPS: "
                f"{getattr(error, 'strerror', None) or error}"
            ) from None
        context.verify_mode = ssl.CERT_OPTIONAL
    return context


class GuardedSite(web.BaseSite):
    """A TCP site whose connections go through the connection guard."""

    def __init__(
        self,
        runner: web.BaseRunner,
        host: str,
        port: int,
        *,
        guard: ConnectionGuard,
        ssl_context: ssl.SSLContext | None,
    ) -> None:
        super().__init__(runner, ssl_context=ssl_context)
        self._host = host
        self._port = port
        self._guard = guard

    @property
    def name(self) -> str:
        scheme = "https" if self._ssl_context else "http"
        return f"{scheme}://{self._host}:{self._port}"

    @property
    def port(self) -> int:
        """The bound port (the configured one may be 0: any free port)."""
        server = self._server
        sockets = server.sockets if isinstance(server, asyncio.Server) else ()
        return int(sockets[0].getsockname()[1]) if sockets else self._port

    async def start(self) -> None:
        await super().start()
        server = self._runner.server
        assert server is not None
        self._server = await asyncio.get_running_loop().create_server(
            self._guard.protocol_factory(server),
            self._host or None,
            self._port,
            ssl=self._ssl_context,
            # A TLS handshake is part of getting a request's headers in.
            ssl_handshake_timeout=self._guard.header_timeout_s if self._ssl_context else None,
            backlog=self._backlog,
        )


@dataclass
class HttpServer:
    runner: web.AppRunner
    site: GuardedSite
    guard: ConnectionGuard
    sign_in: SignIn | None
    scheme: str

    @property
    def port(self) -> int:
        return self.site.port

    async def close(self) -> None:
        if self.sign_in is not None:
            await self.sign_in.withdraw()
        await self.runner.cleanup()


def _base_url(scheme: str, address: str, port: int) -> str:
    host = address_host(address) or "127.0.0.1"
    return f"{scheme}://{f'[{host}]' if ':' in host else host}:{port}"


async def start_http(
    settings: Settings,
    *,
    layers: Sequence[Layer],
    servicers: Mapping[str, object],
    serving: Callable[[], bool],
    authenticator: Authenticator,
    audit: AuditLog,
    refusals: RefusalLimiter,
    scrape: Scrape,
    in_flight: InFlight | None = None,
) -> HttpServer:
    http = settings.http
    development = settings.auth.mode == "development"
    hosts = AllowedHosts.from_settings(
        http.allowed_hosts, settings.http_address, development=development
    )
    if hosts.names is None:
        log.warning(
            "HTTP accepts requests for any host name: set http.allowed_hosts to this "
            "gateway's names to refuse requests addressed to others (DNS rebinding)"
        )
    sign_in = (
        SignIn(
            settings.data_dir,
            caller=settings.auth.dev_operator,
            session_ttl_s=http.session_ttl_s,
        )
        if development
        else None
    )
    ssl_context = tls_context(settings.auth.tls) if settings.auth.tls is not None else None
    guard = ConnectionGuard(
        header_timeout_s=http.header_timeout_s,
        idle_timeout_s=http.idle_timeout_s,
        max_connections=http.max_connections,
        refusal=raw_refusal(
            TooManyConnections(
                f"the gateway has {http.max_connections} HTTP connections open "
                "(http.max_connections): retry shortly"
            )
        ),
    )
    face = HttpFace(
        layers=layers,
        servicers=servicers,
        sign_in=sign_in,
        http=http,
        open_reads=settings.http_open_reads,
        max_call_s=settings.max_call_deadline_ms / 1000,
        scrape=scrape,
        in_flight=in_flight,
    )
    app = build_app(
        face=face,
        serving=serving,
        authenticator=authenticator,
        audit=audit,
        refusals=refusals,
        hosts=hosts,
        http=http,
        sign_in=sign_in,
        secure=ssl_context is not None,
        first_middleware=guard.middleware(),
    )
    runner = web.AppRunner(
        app,
        # The guard closes idle connections; aiohttp's own keep-alive is only a backstop.
        keepalive_timeout=http.idle_timeout_s + http.header_timeout_s,
        lingering_time=http.body_timeout_s,
        shutdown_timeout=settings.shutdown_grace_s,
    )
    await runner.setup()
    host, _, port = settings.http_address.rpartition(":")
    site = GuardedSite(runner, host.strip("[]"), int(port), guard=guard, ssl_context=ssl_context)
    try:
        await site.start()
    except BaseException:
        await runner.cleanup()
        raise
    scheme = "https" if ssl_context is not None else "http"
    server = HttpServer(runner, site, guard, sign_in, scheme)
    if sign_in is not None:
        sign_in.serve_at(_base_url(scheme, settings.http_address, server.port))
        await sign_in.publish()
        log.warning("sign in to the HTTP side from a browser (once) at: %s", sign_in.url)
    return server
