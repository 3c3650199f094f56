"""The connector contract: what every adapter declares and implements.

Metadata is frozen data that the registry validates at start-up and serves through
``DescribeConnector``; behaviour is the ``Adapter`` protocol, which fakes satisfy without
inheriting anything.
"""

from __future__ import annotations

import enum
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from typing import Any, Protocol, runtime_checkable

from pydantic import BaseModel

from gateway.errors import GatewayError


class PolicyClass(enum.StrEnum):
    A = "A"  # runs automatically
    B = "B"  # needs a human approval bound to the exact payload
    C = "C"  # never runs through the gateway

    @property
    def strictness(self) -> int:
        return {"A": 0, "B": 1, "C": 2}[self.value]


class Idempotency(enum.StrEnum):
    NATIVE = "native"  # the vendor takes an idempotency key, which the gateway forwards
    GATEWAY = "gateway"  # the gateway stores the first result and replays it
    NONE = "none"  # reads: repeat freely


class DataClassification(enum.StrEnum):
    PUBLIC = "public"
    INTERNAL = "internal"
    CONFIDENTIAL = "confidential"
    RESTRICTED = "restricted"


class ConnectorStatus(enum.StrEnum):
    OK = "ok"
    DEGRADED = "degraded"
    ERROR = "error"
    UNKNOWN = "unknown"
    NOT_CONFIGURED = "not_configured"
    DISABLED = "disabled"


@dataclass(frozen=True)
class RetryPolicy:
    """How many times and how long to wait between retries of retryable failures."""

    max_retries: int = 3
    backoff_ms: tuple[int, ...] = (1000, 2000, 4000)
    jitter: float = 0.2  # +-20 % of each wait

    def __post_init__(self) -> None:
        if self.max_retries < 0:
            raise ValueError("max_retries must be >= 0")
        if self.max_retries and len(self.backoff_ms) == 0:
            raise ValueError("a retry policy with retries needs a backoff schedule")
        if any(b < 0 for b in self.backoff_ms):
            raise ValueError("backoff_ms entries must be >= 0")
        if not 0 <= self.jitter < 1:
            raise ValueError("jitter must be in [0, 1)")


@dataclass(frozen=True)
class RateLimit:
    """A token bucket: ``per_second`` tokens are added each second, up to ``burst``."""

    per_second: float
    burst: int

    def __post_init__(self) -> None:
        if self.per_second <= 0 or self.burst < 1:
            raise ValueError("a rate limit needs per_second > 0 and burst >= 1")


@dataclass(frozen=True)
class OperationSpec:
    """One operation of a connector, with its payload model and governance."""

    name: str
    description: str
    payload_model: type[BaseModel]
    policy_class: PolicyClass = PolicyClass.B  # an operation without a declared class is B
    idempotency: Idempotency = Idempotency.GATEWAY
    read_only: bool = False
    compensation: str | None = None  # the operation that undoes this one; None: cannot be undone
    success_event: str = "execution_succeeded"
    failure_event: str = "execution_failed"
    # The vendor's answer as the adapter returns it (its ids): what an operator who resolves an
    # unknown outcome as succeeded must supply, and what the compensation needs to undo it.
    result_model: type[BaseModel] | None = None


_KEY = re.compile(r"^[a-z][a-z0-9_]{0,62}$")
_SEMVER = re.compile(r"^\d+\.\d+\.\d+(?:[-+][0-9A-Za-z.-]+)?$")
_EVENT = re.compile(r"^[a-z][a-z0-9_]*$")


@dataclass(frozen=True)
class ConnectorMetadata:
    """A connector's contract under the governance standard."""

    key: str
    display_name: str
    display_name_ar: str
    version: str
    contract_url: str
    operations: tuple[OperationSpec, ...]
    retry_policy: RetryPolicy = field(default_factory=RetryPolicy)
    timeout_ms: int = 10_000
    idempotency: Idempotency = Idempotency.GATEWAY
    data_classification: DataClassification = DataClassification.CONFIDENTIAL
    rate_limit: RateLimit = field(default_factory=lambda: RateLimit(per_second=10, burst=20))

    def operation(self, name: str) -> OperationSpec | None:
        for op in self.operations:
            if op.name == name:
                return op
        return None

    @property
    def audit_event_types(self) -> tuple[str, ...]:
        events = {e for op in self.operations for e in (op.success_event, op.failure_event)}
        return tuple(sorted(events))

    def validate(self) -> None:
        """Raises ValueError naming the first broken rule of the standard."""
        where = f"connector {self.key!r}"
        if not _KEY.match(self.key):
            raise ValueError(f"{where}: key must be lower_snake_case")
        if not self.display_name.strip() or not self.display_name_ar.strip():
            raise ValueError(f"{where}: English and Arabic display names are required")
        if not any("\u0600" <= ch <= "\u06ff" for ch in self.display_name_ar):
            raise ValueError(f"{where}: display_name_ar must be written in Arabic script")
        if not _SEMVER.match(self.version):
            raise ValueError(f"{where}: version must be a semantic version")
        if not self.contract_url.startswith("https://"):
            raise ValueError(f"{where}: contract_url must be an https URL")
        if self.timeout_ms <= 0:
            raise ValueError(f"{where}: timeout_ms must be positive")
        if not self.operations:
            raise ValueError(f"{where}: at least one operation is required")
        names = [op.name for op in self.operations]
        if len(set(names)) != len(names):
            raise ValueError(f"{where}: operation names must be unique")
        for op in self.operations:
            if not _KEY.match(op.name):
                raise ValueError(f"{where}: operation {op.name!r} must be lower_snake_case")
            for event in (op.success_event, op.failure_event):
                if not _EVENT.match(event):
                    raise ValueError(f"{where}: audit event {event!r} must be lower_snake_case")
            if op.compensation is not None and self.operation(op.compensation) is None:
                raise ValueError(
                    f"{where}: operation {op.name!r} names unknown compensation {op.compensation!r}"
                )
            if op.read_only and op.idempotency is not Idempotency.NONE:
                raise ValueError(f"{where}: read-only operation {op.name!r} needs idempotency none")
            if not op.read_only and op.idempotency is Idempotency.NONE:
                raise ValueError(f"{where}: write operation {op.name!r} must be idempotent")
            if op.compensation is not None and op.result_model is None:
                raise ValueError(
                    f"{where}: operation {op.name!r} can be undone, so it must declare its "
                    "result_model (the vendor's ids its compensation needs)"
                )


class VendorContact:
    """What an adapter reports of one attempt's contact with the vendor.

    The gateway never assumes the vendor acted because the adapter was entered: an adapter
    calls :meth:`may_have_acted` at the moment something it sends could make the vendor act
    (an HTTP request starts being written, an SMTP message's data is sent). A failure the
    adapter cannot classify (a bug, a timeout the gateway imposes, a cancellation) counts as
    "the vendor may have acted" only after that moment; before it the call provably did
    nothing, its key is freed and its approval given back.
    """

    __slots__ = ("_listener", "reported")

    def __init__(self, listener: Callable[[], None] | None = None) -> None:
        self.reported = False
        self._listener = listener

    def may_have_acted(self) -> None:
        if not self.reported:
            self.reported = True
            if self._listener is not None:
                self._listener()


@dataclass(frozen=True)
class AttemptContext:
    """What an adapter knows about the attempt it is running."""

    tenant: str
    execution_id: str
    idempotency_key: str
    attempt: int
    timeout_s: float  # the time left for this attempt; give it to the vendor request
    # Report here when the vendor may start acting on what the adapter sends.
    contact: VendorContact = field(default_factory=VendorContact)
    # What the vendor recognises this action by when it is sent again (its idempotency key,
    # an external id, a custom field): ``gateway.markers``. Empty for a read, which has none.
    marker: str = ""


@dataclass(frozen=True)
class ProbeResult:
    ok: bool
    detail: str = ""  # for the adapter's own logs and tests; no vendor free text
    # Why a failing probe failed, as the domain error its phase maps to; the board shows
    # only its reason, phase and vendor code.
    error: GatewayError | None = None


@dataclass(frozen=True)
class Lookup:
    """What the vendor says about an earlier request whose outcome the gateway lost."""

    found: bool  # the vendor acted on it
    result: Mapping[str, Any] = field(default_factory=dict)


@runtime_checkable
class Reconciler(Protocol):
    """Adapters whose vendor can be asked whether an earlier request was acted on.

    ``ctx`` carries the execution id and idempotency key of the earlier request; an adapter
    finds it by what it sent then (for example an external id it set on the vendor object).
    """

    async def reconcile(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Lookup: ...


@runtime_checkable
class Adapter(Protocol):
    """The lifecycle every vendor adapter implements."""

    @property
    def metadata(self) -> ConnectorMetadata: ...

    @property
    def configured(self) -> bool:
        """False when credentials or endpoints are missing; calls are then refused."""
        ...

    async def initialize(self) -> None: ...

    async def execute(
        self, operation: str, payload: BaseModel, ctx: AttemptContext
    ) -> Mapping[str, Any]:
        """Runs one attempt. Raises ``gateway.errors.GatewayError`` subclasses on failure."""
        ...

    async def compensate(
        self, operation: str, original: Mapping[str, Any], ctx: AttemptContext
    ) -> Mapping[str, Any]: ...

    async def health_check(self) -> ProbeResult: ...

    async def shutdown(self) -> None: ...
