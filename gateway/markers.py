"""The marker a vendor recognises a request by when it is sent again.

Vendors deduplicate by a value the gateway sends with the request (Stripe's
``Idempotency-Key``, a Salesforce external id the gateway generates, a DocuSign envelope
custom field, Cal.com booking metadata). The marker is the hex SHA-256 of who asked for what
under which key, so two tenants or two callers sharing one vendor account never collide, and
the agent's key itself never reaches the vendor. A compensation is derived apart from any
action: its key is tenant-wide (an execution is undone at most once, whoever asks), and no
action's marker can equal it.
"""

from __future__ import annotations

from gateway.call import KeyRef
from gateway.canonical import sha256_hex

_ACTION = "connector-gateway/vendor-marker/action/v1"
_COMPENSATION = "connector-gateway/vendor-marker/compensation/v1"


def action_marker(tenant: str, caller: str, connector: str, operation: str, key: str) -> str:
    """The marker of an agent's keyed action: the same on every attempt and re-send."""
    return sha256_hex([_ACTION, tenant, caller, connector, operation, key])


def compensation_marker(tenant: str, connector: str, operation: str, execution_id: str) -> str:
    """The marker of the undo of one execution, the same whoever asks for it."""
    return sha256_hex([_COMPENSATION, tenant, connector, operation, execution_id])


def marker_for(
    tenant: str, key: KeyRef, connector: str, operation: str, *, compensates: str = ""
) -> str:
    """The marker of the action running under ``key`` (a compensation when ``compensates``
    names the execution it undoes)."""
    if compensates:
        return compensation_marker(tenant, connector, operation, compensates)
    return action_marker(tenant, key.scope, connector, operation, key.key)
