"""One governed call as the layers build it, and as the servicers receive it once admitted.

The layers of the chain (``gateway/interceptors/``) pass a ``Call`` inward, each adding what
it established: the caller's identity, the parsed request and its target, the deadline, the
idempotency key. The last step, ``admit``, turns it into an admitted call whose parts are no
longer optional: the servicers take that, typed for their method, and never check for a part
a layer failed to set (the one check is here, and a miss is the gateway's own fault).

Nothing here depends on a protocol: gRPC and HTTP build the same ``Call`` over a ``Context``.
"""

from __future__ import annotations

import time
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field, fields
from typing import TYPE_CHECKING, Any, Generic, Protocol, TypeVar

from google.protobuf.message import Message
from pydantic import BaseModel

from gateway.contract import ConnectorMetadata, OperationSpec
from gateway.identity import Identity

if TYPE_CHECKING:
    from gateway.approvals.subject import ApprovalSubject
    from gateway.methods import MethodRule
    from gateway.store.ledger import Execution
    from gateway.store.sqlite import UnitOfWork


class Context(Protocol):
    """What the layers need of the protocol a call arrived over."""

    def time_remaining(self) -> float | None:
        """Seconds until the caller's own deadline; None when it set none."""
        ...

    def peer(self) -> str:
        """The caller's network address, as the protocol names it."""
        ...

    def auth_context(self) -> Mapping[str, Iterable[bytes]]:
        """What the transport verified of the caller (a TLS client certificate)."""
        ...


@dataclass
class CallFacts:
    """What the layers learn about a call, kept for the observers (audit, telemetry).

    Deliberately mutable: an inner layer that refuses a call has already recorded who called
    and what was asked, and the audit layer outside it must see that in its row.
    """

    tenant: str = ""
    caller: str = ""
    connector_key: str = ""
    operation: str = ""
    execution_id: str = ""
    idempotency_key: str = ""
    payload_digest: str = ""
    payload_redacted: dict[str, Any] = field(default_factory=dict)
    attempts: int = 0
    trace_id: str = ""
    status_code: str = "OK"
    refusal_event: str = ""  # the audit event of a governance refusal, e.g. policy_denied
    vendor_contacted: bool = False  # the request may have reached the vendor
    success_event: str = ""
    failure_event: str = ""
    approval_id: str = ""  # the approval this call asked for or used
    resolution: str = ""  # an operator's finding about an unknown outcome
    note: str = ""  # an operator's words the audit row keeps as they are (why it was disabled)


@dataclass(frozen=True)
class Target:
    """The resolved connector and operation of an action, with the validated payload."""

    metadata: ConnectorMetadata
    operation: OperationSpec
    payload: BaseModel


@dataclass(frozen=True)
class KeyRef:
    """The idempotency key an action runs under: whose it is (``scope``: the caller, or "" for
    a tenant-wide compensation key), the key, and the request it is bound to."""

    scope: str
    key: str
    fingerprint: str


@dataclass(frozen=True)
class Deadline:
    """The instant (monotonic clock) by which the gateway must have its answer ready."""

    expires_at: float

    def remaining(self) -> float:
        return self.expires_at - time.monotonic()


class AuditHandle(Protocol):
    """The audit trail of one call, as the servicer uses it."""

    @property
    def requested_written(self) -> bool: ...

    @property
    def unit(self) -> UnitOfWork:
        """The unit of work of the call's current phase: the stores keep their changes in it,
        and they commit with the phase's audit row."""
        ...

    async def requested(self, *, durable: bool = True) -> None:
        """Records that the vendor is about to be called; ``durable``: before returning
        (a write), else with the outcome row (a read acts on nothing)."""
        ...


class ChainError(RuntimeError):
    """A layer the chain relies on did not run: a fault of the gateway, never of the caller."""


@dataclass(frozen=True)
class Credentials:
    """What the caller presented: metadata (gRPC metadata, or the HTTP headers that carry
    credentials), and over HTTP whether a browser sent it (a browser is never the development
    caller) and the check of its sign-in cookie, if it sent one (returns its caller)."""

    metadata: tuple[tuple[str, str | bytes], ...]
    browser: bool = False
    session: Callable[[], str] | None = None


@dataclass(frozen=True)
class Call:
    """One governed call, as each layer sees it. Layers pass on an enriched copy."""

    rule: MethodRule
    raw: bytes
    credentials: Credentials
    parse: Callable[[bytes], Message]
    facts: CallFacts
    received_at: float
    route: str  # how it arrived, for the audit row: the RPC name, or "HTTP POST /v1/..."
    protocol: str = "grpc"  # or "http"
    identity: Identity | None = None
    request: Any = None  # the parsed request message, set by validation
    target: Target | None = None
    deadline: Deadline | None = None
    audit: AuditHandle | None = None
    execution: Execution | None = None  # for Compensate: the execution it undoes
    key: KeyRef | None = None  # for actions that write: set by the replay layer
    # A repeat of an action admitted earlier (its key is in flight or of unknown outcome):
    # no approval is asked for again.
    repeat: bool = False
    needs_approval: bool = False  # policy class B: the servicer runs it only with approval_id
    approval_id: str = ""  # a granted approval the policy layer checked, consumed by the servicer
    approval_subject: ApprovalSubject | None = None  # for actions: set by the policy layer

    @property
    def method(self) -> str:
        return self.rule.name

    @property
    def metadata(self) -> tuple[tuple[str, str | bytes], ...]:
        return self.credentials.metadata

    def with_(self, **changes: Any) -> Call:
        """A copy with ``changes``. Built without ``dataclasses.replace``, which re-runs the
        whole initializer: every layer makes one per call."""
        unknown = changes.keys() - _CALL_FIELDS
        if unknown:
            raise TypeError(f"Call has no field {', '.join(sorted(unknown))}")
        copy = object.__new__(Call)
        copy.__dict__.update(self.__dict__)
        copy.__dict__.update(changes)
        return copy

    def who(self) -> Identity:
        """The caller's identity; authentication sets it before any layer that asks."""
        return _present(self.identity, "identity", "authentication")

    def what(self) -> Target:
        """The action's target; validation sets it for actions."""
        return _present(self.target, "target", "validation")


_CALL_FIELDS = frozenset(f.name for f in fields(Call))

T = TypeVar("T")
R = TypeVar("R")


def _present(value: T | None, part: str, layer: str) -> T:
    if value is None:
        raise ChainError(f"the call has no {part}: the {layer} layer did not run before")
    return value


@dataclass(frozen=True)
class Admitted(Generic[R]):
    """A call the chain admitted: the caller, the request, the time it may take, its audit."""

    rule: MethodRule
    request: R
    identity: Identity
    deadline: Deadline
    audit: AuditHandle
    facts: CallFacts

    @property
    def tenant(self) -> str:
        return self.identity.tenant


@dataclass(frozen=True)
class AdmittedAction(Admitted[R]):
    """An admitted Execute: also its target and, for a write, the key it runs under."""

    target: Target
    key: KeyRef | None  # None for a read, which repeats freely
    approval_id: str  # a granted approval to use; "" when none is needed or given
    needs_approval: bool  # class B: a new execution under the key needs ``approval_id``
    approval: ApprovalSubject  # what an approval of it is bound to


@dataclass(frozen=True)
class AdmittedCompensation(Admitted[R]):
    """An admitted Compensate: the execution it undoes, the undo and its tenant-wide key."""

    target: Target
    execution: Execution
    key: KeyRef
    approval_id: str
    needs_approval: bool
    approval: ApprovalSubject


class ActionCall(Protocol):
    """What running an admitted action needs of it, Execute and Compensate alike."""

    @property
    def identity(self) -> Identity: ...
    @property
    def deadline(self) -> Deadline: ...
    @property
    def audit(self) -> AuditHandle: ...
    @property
    def facts(self) -> CallFacts: ...
    @property
    def target(self) -> Target: ...
    @property
    def approval_id(self) -> str: ...
    @property
    def needs_approval(self) -> bool: ...
    @property
    def approval(self) -> ApprovalSubject: ...


def admit(call: Call) -> Admitted[Any]:
    """The admitted form of ``call``, as its method's servicer takes it."""
    rule = call.rule
    request = _present(call.request, "request", "validation")
    identity = call.who()
    deadline = _present(call.deadline, "deadline", "deadline")
    audit = _present(call.audit, "audit handle", "audit")
    if rule.compensates:
        return AdmittedCompensation(
            rule,
            request,
            identity,
            deadline,
            audit,
            call.facts,
            target=call.what(),
            execution=_present(call.execution, "execution", "validation"),
            key=_present(call.key, "idempotency key", "replay"),
            approval_id=call.approval_id,
            needs_approval=call.needs_approval,
            approval=_present(call.approval_subject, "approval subject", "policy"),
        )
    if rule.acts:
        return AdmittedAction(
            rule,
            request,
            identity,
            deadline,
            audit,
            call.facts,
            target=call.what(),
            key=call.key,
            approval_id=call.approval_id,
            needs_approval=call.needs_approval,
            approval=_present(call.approval_subject, "approval subject", "policy"),
        )
    return Admitted(rule, request, identity, deadline, audit, call.facts)
