"""The exact action an approval is bound to: what the gate, the policy layer and the
at-most-once bookkeeping speak of."""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import Any


@dataclass(frozen=True)
class ApprovalSubject:
    """The exact action an approval is bound to, and the caller asking for it."""

    tenant: str
    caller: str
    connector_key: str
    operation: str
    payload_digest: str
    execution_id: str  # for a compensation: the execution it undoes; "" for an Execute
    payload_redacted: Mapping[str, Any]
    full_payload: Callable[[], dict[str, Any]]  # built only when a request is opened

    def binding(self) -> dict[str, str]:
        return {
            "tenant": self.tenant,
            "connector_key": self.connector_key,
            "operation": self.operation,
            "payload_digest": self.payload_digest,
            "execution_id": self.execution_id,
        }
