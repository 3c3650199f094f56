"""Who may see an execution: one rule for every RPC that takes an execution id."""

from __future__ import annotations

from gateway.errors import ExecutionNotFound
from gateway.identity import Identity
from gateway.store.ledger import Execution, Ledger


async def visible_execution(ledger: Ledger, identity: Identity, execution_id: str) -> Execution:
    """The execution, if ``identity`` may see it: the caller that ran it, or an operator of its
    tenant. Anyone else, another tenant included, gets EXECUTION_NOT_FOUND exactly as for an
    id that never existed (or was pruned)."""
    execution = await ledger.execution(identity.tenant, execution_id)
    if execution is None or not (identity.operator or execution.caller == identity.caller):
        raise ExecutionNotFound(
            f"no execution {execution_id!r}", metadata={"execution_id": execution_id}
        )
    return execution
