"""One audit event, as the governance layers describe it before it is stored."""

from __future__ import annotations

import enum
from collections.abc import Mapping
from dataclasses import dataclass, field
from typing import TYPE_CHECKING, Any, Protocol

if TYPE_CHECKING:
    from gateway.store.sqlite import UnitOfWork


class Outcome(enum.StrEnum):
    REQUESTED = "requested"  # written before the vendor is touched
    SUCCEEDED = "succeeded"
    FAILED = "failed"
    REFUSED = "refused"  # stopped by the gateway before any vendor contact
    UNKNOWN = "unknown"  # may have reached the vendor; outcome not learned


@dataclass(frozen=True)
class AuditEvent:
    event_type: str
    outcome: Outcome
    tenant: str
    caller: str
    rpc_method: str
    connector_key: str = ""
    operation: str = ""
    execution_id: str = ""
    idempotency_key: str = ""
    payload_digest: str = ""
    payload_redacted: Mapping[str, Any] = field(default_factory=dict)
    status_code: str = "OK"
    reason: str = ""
    attempts: int = 0
    latency_ms: float = 0.0
    trace_id: str = ""
    detail: Mapping[str, str] = field(default_factory=dict)


@dataclass(frozen=True)
class StoredEvent:
    """Where an appended event landed; returned only once the row is durable."""

    seq: int
    event_id: str


class AuditLog(Protocol):
    """Where audit events go (the writer, in production)."""

    async def append(self, event: AuditEvent) -> StoredEvent:
        """Returns once the row is durable. Must take the event before its first await and
        finish the write even when the awaiting caller is cancelled."""
        ...

    async def record(self, event: AuditEvent, unit: UnitOfWork) -> StoredEvent:
        """Writes the row in ``unit`` (the transaction of a call's phase); durable once the
        unit is. A caller cancelled meanwhile must not lose the row."""
        ...
