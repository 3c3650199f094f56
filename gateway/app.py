"""The composition root: builds every part, owns it, and shuts it down in reverse order."""

from __future__ import annotations

import asyncio
import contextlib
import gc
import logging
import os
import signal
import uuid
from collections.abc import Awaitable, Callable, Sequence
from datetime import timedelta
from typing import Any

import grpc
from grpc_health.v1 import health, health_pb2_grpc
from grpc_reflection.v1alpha import reflection
from opentelemetry.sdk.trace import TracerProvider

from adapters.plugins import PLUGINS
from connectorgateway.v1 import approval_service_pb2_grpc as apb_grpc
from connectorgateway.v1 import connector_service_pb2_grpc as pb_grpc
from connectorgateway.v1 import execution_service_pb2_grpc as epb_grpc
from connectorgateway.v1 import metric_dictionary_service_pb2_grpc as mpb_grpc
from connectorgateway.v1 import sandbox_service_pb2_grpc as spb_grpc
from gateway.anchor_key import load_anchor_key
from gateway.api.approval_service import ApprovalServicer
from gateway.api.connector_service import ConnectorServicer
from gateway.api.execution_service import ExecutionServicer
from gateway.api.grpc import GovernanceInterceptor
from gateway.api.metric_dictionary_service import MetricDictionaryServicer
from gateway.api.sandbox_service import SandboxServicer
from gateway.approvals.gate import ApprovalGate
from gateway.approvals.model import ApprovalClocks
from gateway.approvals.store import ApprovalStore
from gateway.audit.events import approval_expired
from gateway.audit.refusal_limiter import RefusalLimiter
from gateway.audit.writer import AuditWriter
from gateway.auth.authenticator import (
    Authenticator,
    assert_safe_to_start,
    clear_text_warning,
    development_banner,
)
from gateway.auth.mtls import server_credentials
from gateway.auth.stored_callers import rewrite_stored_callers
from gateway.board import Board, GatewaySurroundings
from gateway.clock import Clocks
from gateway.connector_serving import ConnectorServing
from gateway.dictionary.calculator import MetricCalculator
from gateway.dictionary.definitions import dictionary
from gateway.dictionary.implementations import GatewayState
from gateway.execution.attempts import AttemptPipeline
from gateway.execution.lookup import VendorLookup
from gateway.execution.once import AtMostOnce
from gateway.health_rules import HealthRules
from gateway.health_service import SERVING, HealthService
from gateway.health_state import HealthTracker
from gateway.http.server import HttpServer, start_http
from gateway.interceptors.base import InFlight, Layer
from gateway.interceptors.chain import build_chain
from gateway.methods import (
    APPROVAL_SERVICE,
    CONNECTOR_SERVICE,
    EXECUTION_SERVICE,
    GOVERNED_SERVICES,
    METRIC_DICTIONARY_SERVICE,
)
from gateway.metrics import MetricsRegistry
from gateway.plugin import ConnectorPlugin, build_connectors
from gateway.probes import Prober
from gateway.prometheus import PrometheusExposition
from gateway.registry import Connector, Registry
from gateway.reliability.guards import Guards
from gateway.reliability.idempotency import IdempotencyKeys
from gateway.reliability.retry import RetryEngine, RetryTuning
from gateway.reliability.stopping import Stopping
from gateway.sandboxes import Sandboxes
from gateway.settings import Settings
from gateway.store import sqlite
from gateway.store.disablements import DisablementStore
from gateway.store.ledger import Ledger
from gateway.store.sync_states import SyncStateStore
from gateway.switches import ConnectorSwitches
from gateway.tracing import tracer_provider as configured_tracer_provider

log = logging.getLogger(__name__)

SERVICE_NAME = CONNECTOR_SERVICE


def bound_address(address: str, port: int) -> str:
    """``address`` (host:port, IPv6 hosts in brackets) with the port actually bound; a unix
    socket's address as it is."""
    if address.startswith(("unix:", "unix-abstract:")):
        return address
    host, _, _ = address.rpartition(":")
    return f"{host}:{port}"


class Gateway:
    def __init__(
        self,
        settings: Settings,
        *,
        plugins: Sequence[ConnectorPlugin[Any]] = PLUGINS,
        connectors: Sequence[Connector] | None = None,
        tracer_provider: TracerProvider | None = None,
        wrap_layers: Callable[[list[Layer]], list[Layer]] | None = None,
        clocks: Clocks | None = None,
    ) -> None:
        self.settings = settings
        self.clocks = clocks or Clocks()
        self._plugins = tuple(plugins)
        # Tests may serve connectors built by hand (fakes) in place of the plugins'.
        self._connectors = list(connectors) if connectors is not None else None
        self._owns_tracing = tracer_provider is None
        # The gateway's settings, then the OTEL_* variables (gateway/tracing.py).
        self.tracer_provider = tracer_provider or configured_tracer_provider(settings, os.environ)
        self._wrap_layers = wrap_layers
        self._closers: list[tuple[str, Callable[[], Awaitable[object]]]] = []
        self._server: grpc.aio.Server | None = None
        self._health_servicer = HealthService()
        self._serving = False
        self.in_flight = InFlight()  # governed calls in the chain, gRPC and HTTP together
        # Begun first thing in stop(): calls waiting inside the gateway answer SHUTTING_DOWN.
        self.stopping = Stopping()
        self._stopping: asyncio.Task[None] | None = None
        self._tasks: list[asyncio.Task[None]] = []
        self.grpc_port = 0
        self.http_port = 0
        self.http: HttpServer | None = None
        self.registry: Registry | None = None
        self.audit: AuditWriter | None = None
        self.sandboxes = Sandboxes()

    async def start(self) -> None:
        s = self.settings
        assert_safe_to_start(s.auth, s.grpc_address, s.http_address)
        if self._owns_tracing:
            # Closed last: spans of the calls finished during shutdown are exported too.
            self._closers.append(("tracing", self._shutdown_tracing))
        self.authenticator = Authenticator.from_settings(s.auth)
        authorization = self.authenticator.policy
        if s.auth.mode == "development":
            log.warning("%s", development_banner(s.auth))
        clear_text = clear_text_warning(s.auth, s.grpc_address, s.http_address)
        if clear_text:
            log.warning("%s", clear_text)
        key = load_anchor_key(s, create=True)  # before any write: a bad key stops the start
        await sqlite.migrate(s.database_path)
        # Caller ids stored before callers had namespaces, onto the policy's callers.
        await rewrite_stored_callers(s.database_path, authorization.callers)

        # One database for every store: their changes share group commits (closed last).
        self.database = await sqlite.Database.open(s.database_path)
        # A call alone in the gateway commits on the loop's thread (see SerializedConnection).
        self.database.writes.quiet = self.in_flight.alone
        self._closers.append(("database", self.database.close))
        self.audit = AuditWriter(self.database, s.audit, key)
        await self.audit.start()
        self._closers.append(("audit log", self.audit.close))
        # Closed after both servers (they close later in start order), before the audit log.
        self.refusals = RefusalLimiter(
            self.audit,
            per_s=s.audit.unauthenticated_refusals_per_s,
            burst=s.audit.unauthenticated_refusals_burst,
            summary_every_s=s.audit.refusal_summary_every_s,
        )
        self.refusals.start()
        self._closers.append(("refusal summaries", self.refusals.close))

        self.ledger = Ledger(self.database)
        self.instance_id = uuid.uuid4().hex
        # A lease before the first call: other processes sharing the database leave this
        # process's calls alone while it renews it, and take them as unknown once it lapses.
        await self.ledger.hold_lease(self.instance_id, s.reliability.lease_s)
        self._closers.append(("ledger lease", lambda: self.ledger.drop_lease(self.instance_id)))
        orphans = await self.ledger.orphans_to_unknown()
        if orphans:
            log.warning(
                "%d call(s) were in flight when the gateway last stopped; their outcome is "
                "unknown and they are listed by `connector-gateway executions list "
                "--status unknown`",
                orphans,
            )
        keys = IdempotencyKeys(
            self.ledger,
            owner=self.instance_id,
            ttl_s=s.reliability.idempotency_ttl_s,
            stopping=self.stopping,
        )
        self.guards = Guards(
            s.reliability,
            {tenant: ts.rate_limits for tenant, ts in s.tenants.items()},
            sleep=self.stopping.sleep,
            clock=self.clocks.monotonic,
        )
        retries = RetryEngine(
            RetryTuning(
                backoff_scale=s.reliability.backoff_scale,
                max_retry_after_s=s.reliability.max_retry_after_s,
                min_attempt_s=s.reliability.min_attempt_ms / 1000,
                jitter=s.reliability.retry_jitter,
            ),
            sleep=self.stopping.sleep,
        )

        clocks = ApprovalClocks(
            pending_ttl_s=s.approvals.pending_ttl_s,
            use_within_s=s.approvals.use_within_s,
            sla_warning_s=s.approvals.sla_warning_s,
            sla_breach_s=s.approvals.sla_breach_s,
        )
        self.approvals = ApprovalStore(
            self.database,
            clocks,
            clock=self.clocks.wall,
            max_pending_per_caller=s.approvals.max_pending_per_caller,
        )

        connectors = await self._connectors_to_serve(authorization.tenants)
        self.registry = Registry(
            connectors,
            policy_overrides=s.policy.overrides,
            allow_loosening=s.policy.allow_loosening,
        )
        # Operators' switches first: a connector disabled before a restart stays disabled.
        self.switches = ConnectorSwitches(DisablementStore(self.database), clock=self.clocks.wall)
        await self.switches.reload()
        self.health = HealthTracker(
            SyncStateStore(self.database),
            rules=HealthRules.from_settings(s.health),
            surroundings=GatewaySurroundings(self.registry, self.guards, self.switches),
            clock=self.clocks.wall,
            monotonic=self.clocks.monotonic,
            unsaved=[(t, c.key) for c in connectors for t in c.sandboxed],
        )
        self.switches.changed = self.health.refresh
        self._closers.append(("health state", self.health.flush))
        self.board = Board(self.registry, self.health, self.guards, self.switches)
        serving = ConnectorServing(self._health_servicer, self.board)
        self.health.listeners.append(serving.changed)
        await serving.start(c.key for c in connectors)
        self._tenants = sorted({"default", *authorization.tenants, *s.tenants})
        self.metrics = MetricsRegistry(clock=self.clocks.monotonic)
        for connector in connectors:
            for tenant, adapter in connector.all_adapters():
                await adapter.initialize()
                self._closers.append((f"adapter {connector.key} ({tenant})", adapter.shutdown))

        gate = ApprovalGate(self.approvals)
        tracer = self.tracer_provider.get_tracer("connectorgateway")
        layers = build_chain(
            settings=s,
            tracer=tracer,
            audit_log=self.audit,
            registry=self.registry,
            ledger=self.ledger,
            authenticator=self.authenticator,
            authorization=authorization,
            gate=gate,
            refusals=self.refusals,
            switches=self.switches,
            metrics=self.metrics,
        )
        if self._wrap_layers:
            layers = self._wrap_layers(layers)
        server = grpc.aio.server(
            interceptors=[GovernanceInterceptor(layers, self.in_flight)],
            options=[
                ("grpc.max_receive_message_length", s.max_receive_bytes),
                ("grpc.so_reuseport", 0),
            ],
        )
        attempts = AttemptPipeline(
            self.guards,
            retries,
            self.health,
            self.metrics,
            tracer=tracer,
            min_attempt_s=s.reliability.min_attempt_ms / 1000,
        )
        # Closed after both servers (they close later in start order).
        self.metric_calculator = MetricCalculator(
            s.dictionary,
            GatewayState(self.registry, self.board, self.approvals),
            clock=self.clocks.wall,
        )
        self._closers.append(("metrics databases", self.metric_calculator.close))
        connector_servicer = ConnectorServicer(
            self.registry,
            self.ledger,
            AtMostOnce(self.ledger, keys, gate, attempts),
            attempts,
            gate,
            self.board,
            self.switches,
            self.metrics,
            self.guards,
            self.metric_calculator,
        )
        execution_servicer = ExecutionServicer(
            self.ledger,
            self.registry,
            VendorLookup(self.registry, self.approvals),
            idempotency_ttl_s=s.reliability.idempotency_ttl_s,
        )
        # A watch re-reads at the sweep's pace only for another process's changes.
        approval_servicer = ApprovalServicer(
            self.approvals, watch_recheck_s=s.approvals.expiry_sweep_s, clock=self.clocks.wall
        )
        sandbox_servicer = SandboxServicer(self.registry, self.sandboxes)
        metric_servicer = MetricDictionaryServicer(dictionary(), self.metric_calculator)
        # The governance chain hands each method the admitted call in place of the request.
        pb_grpc.add_ConnectorServiceServicer_to_server(connector_servicer, server)  # type: ignore[arg-type]
        epb_grpc.add_ExecutionServiceServicer_to_server(execution_servicer, server)  # type: ignore[arg-type]
        apb_grpc.add_ApprovalServiceServicer_to_server(approval_servicer, server)  # type: ignore[arg-type]
        spb_grpc.add_SandboxServiceServicer_to_server(sandbox_servicer, server)  # type: ignore[arg-type]
        mpb_grpc.add_MetricDictionaryServiceServicer_to_server(metric_servicer, server)  # type: ignore[arg-type]
        health_pb2_grpc.add_HealthServicer_to_server(self._health_servicer, server)
        reflection.enable_server_reflection(
            (*GOVERNED_SERVICES, health.SERVICE_NAME, reflection.SERVICE_NAME),
            server,
        )
        if s.auth.tls is not None:
            self.grpc_port = server.add_secure_port(s.grpc_address, server_credentials(s.auth.tls))
        else:
            self.grpc_port = server.add_insecure_port(s.grpc_address)
        await server.start()
        self._server = server
        for service in ("", SERVICE_NAME):
            await self._health_servicer.set(service, SERVING)
        self._serving = True

        self.http = await start_http(
            s,
            layers=layers,
            servicers={
                CONNECTOR_SERVICE: connector_servicer,
                APPROVAL_SERVICE: approval_servicer,
                EXECUTION_SERVICE: execution_servicer,
                METRIC_DICTIONARY_SERVICE: metric_servicer,
            },
            serving=lambda: self._serving,
            authenticator=self.authenticator,
            audit=self.audit,
            refusals=self.refusals,
            scrape=PrometheusExposition(
                self.metrics, self.registry, self.guards, self.approvals
            ).render,
            in_flight=self.in_flight,
        )
        self.http_port = self.http.port
        self._closers.append(("http server", self.http.close))

        if s.health.probe_interval_s > 0:
            self.prober = Prober(self.registry, self.health, self.switches, self._tenants, s.health)
            self._tasks.append(asyncio.create_task(self._probing(self.prober)))
        for interval_s, job, name in (
            (s.reliability.lease_s / 3, self._renew_lease, "ledger lease"),
            (s.reliability.prune_interval_s, self._prune, "idempotency key pruning"),
            (1.0, self._keep_health, "health state"),
            (s.approvals.expiry_sweep_s, self.expire_approvals, "approval expiry"),
            (s.approvals.prune_interval_s, self.prune_approvals, "approval pruning"),
        ):
            self._tasks.append(asyncio.create_task(self._every(interval_s, job, name)))
        # The ports bound, not those configured: port 0 asks the system for a free one.
        log.info(
            "connector gateway serving gRPC on %s and HTTP on %s",
            bound_address(s.grpc_address, self.grpc_port),
            bound_address(s.http_address, self.http_port),
        )

    async def _connectors_to_serve(self, tenants: Sequence[str]) -> list[Connector]:
        """The connectors given (fakes), else the plugins': for the tenants of the settings
        and of the authorization policy, each acting with its own account or, without one,
        at the vendor's sandbox when one runs."""
        if self._connectors:
            return self._connectors
        # Stopped after the adapters acting at them (those close later in start order).
        self._closers.append(("sandboxes", self.sandboxes.stop))
        await self.sandboxes.start(self._plugins, self.settings, tenants)
        return build_connectors(
            self.settings, self._plugins, tenants=tenants, sandboxes=self.sandboxes.running
        )

    @staticmethod
    async def _probing(prober: Prober) -> None:
        """Runs the probes until cancelled; a round that fails is logged, and the next runs."""
        while True:
            try:
                await prober.run()
            except Exception:  # a background job must never stop the gateway
                log.exception("background job probes failed")
                await asyncio.sleep(prober.next_wait())

    async def _keep_health(self) -> None:
        """Statuses follow what changes with time alone (a breaker's open period ending,
        calls leaving the window) and other processes' switches; states are written."""
        await self.switches.reload()
        await self.health.refresh_all()
        await self.health.flush()

    async def expire_approvals(self) -> int:
        """Records every approval that expired since the last sweep (``approval_expired``)."""
        assert self.audit is not None
        expired = await self.approvals.expire_due()
        for approval in expired:
            await self.audit.append(approval_expired(approval))
        await self.approvals.expiry_recorded([a.approval_id for a in expired])
        return len(expired)

    async def prune_approvals(self) -> int:
        """Deletes approvals settled longer ago than ``approvals.retention_s``."""
        pruned = await self.approvals.prune_settled(
            timedelta(seconds=self.settings.approvals.retention_s)
        )
        if pruned:
            log.info("pruned %d settled approvals past their retention", pruned)
        return pruned

    @staticmethod
    async def _every(interval_s: float, job: Callable[[], Awaitable[object]], name: str) -> None:
        """Runs ``job`` every ``interval_s`` until cancelled."""
        while True:
            await asyncio.sleep(interval_s)
            try:
                await job()
            except Exception:  # a background job must never stop the gateway
                log.exception("background job %s failed", name)

    async def _shutdown_tracing(self) -> None:
        await asyncio.to_thread(self.tracer_provider.shutdown)

    async def _renew_lease(self) -> None:
        """Keeps this process's calls its own, and takes over those of dead processes."""
        await self.ledger.hold_lease(self.instance_id, self.settings.reliability.lease_s)
        orphans = await self.ledger.orphans_to_unknown()
        if orphans:
            log.warning(
                "%d call(s) of a gateway process that stopped renewing its lease are of "
                "unknown outcome; see `connector-gateway executions list --status unknown`",
                orphans,
            )

    async def _prune(self) -> None:
        pruned = await self.ledger.prune()
        if pruned:
            log.info("pruned %d expired idempotency keys", pruned)
        executions = await self.ledger.prune_executions(
            self.settings.reliability.execution_retention_s
        )
        if executions:
            log.info("pruned %d settled executions past their retention", executions)

    async def stop(self, grace_s: float | None = None) -> None:
        """Stops taking calls, lets in-flight calls finish within the grace period, flushes
        the audit log and closes everything in reverse order, logging and never raising.

        Calls waiting inside the gateway (a backoff, a rate-limit token, an earlier call with
        the same key) are answered SHUTTING_DOWN at once; attempts at a vendor finish. A stop
        while one is under way returns when that one has finished; cancelling a caller does
        not cut the stop short."""
        self.stopping.begin()
        if self._stopping is None:
            self._stopping = asyncio.create_task(self._stop(grace_s), name="gateway stop")
        await asyncio.shield(self._stopping)

    async def _stop(self, grace_s: float | None) -> None:
        grace = self.settings.shutdown_grace_s if grace_s is None else grace_s
        self._serving = False
        await self._health_servicer.enter_graceful_shutdown()
        for task in self._tasks:
            task.cancel()
            with contextlib.suppress(asyncio.CancelledError):
                await task
        if self._server is not None:
            await self._server.stop(grace)
        for name, close in reversed(self._closers):
            try:
                await close()
            except Exception:
                log.exception("closing %s failed", name)
        self._closers.clear()
        log.info("connector gateway stopped")


async def serve(settings: Settings, connectors: Sequence[Connector] | None = None) -> None:
    """Runs the gateway until SIGTERM or SIGINT."""
    gateway = Gateway(settings, connectors=connectors)
    try:
        await gateway.start()
    except BaseException:
        await gateway.stop(grace_s=0)  # closes whatever the failed start had opened
        raise
    # What start-up built lives as long as the process: out of the collector's reach, full
    # collections during calls walk only what the calls allocated (the process is the
    # gateway's alone here, unlike a test process that starts many).
    gc.freeze()
    stop = asyncio.Event()
    loop = asyncio.get_running_loop()
    for sig in (signal.SIGTERM, signal.SIGINT):
        loop.add_signal_handler(sig, stop.set)
    await stop.wait()
    log.info("shutting down: finishing in-flight calls within %.1f s", settings.shutdown_grace_s)
    await gateway.stop()
