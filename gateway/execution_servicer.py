"""ExecutionService: the tenant's executions, and operators' resolution of unknown outcomes."""

from __future__ import annotations

from google.protobuf import timestamp_pb2

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.clock import to_text
from gateway.descriptors import to_struct
from gateway.errors import ExecutionNotFound, ExecutionNotUnknown
from gateway.interceptors.base import Call, Context
from gateway.paging import Cursor, decode, page, page_size
from gateway.reliability.idempotency import COMPENSATION_KEY_PREFIX, response_outcome
from gateway.store.ledger import Execution, ExecutionStatus, Ledger

_STATUS = {
    ExecutionStatus.RUNNING: epb.EXECUTION_STATUS_RUNNING,
    ExecutionStatus.SUCCEEDED: epb.EXECUTION_STATUS_SUCCEEDED,
    ExecutionStatus.FAILED: epb.EXECUTION_STATUS_FAILED,
    ExecutionStatus.UNKNOWN: epb.EXECUTION_STATUS_UNKNOWN,
    ExecutionStatus.COMPENSATED: epb.EXECUTION_STATUS_COMPENSATED,
}
_FROM_STATUS = {v: k for k, v in _STATUS.items()}


def _cursor(execution: Execution) -> Cursor:
    return Cursor(to_text(execution.created_at), execution.execution_id)


def to_message(execution: Execution) -> epb.Execution:
    created = timestamp_pb2.Timestamp()
    created.FromDatetime(execution.created_at)
    return epb.Execution(
        execution_id=execution.execution_id,
        connector_key=execution.connector_key,
        operation=execution.operation,
        status=_STATUS[execution.status],
        caller=execution.caller,
        idempotency_key=execution.idempotency_key,
        attempts=execution.attempts,
        created_at=created,
        result=to_struct(execution.result),
    )


class ExecutionServicer:
    def __init__(self, ledger: Ledger) -> None:
        self._ledger = ledger

    async def _visible(self, call: Call) -> Execution:
        """The execution, to an operator of its tenant or the caller that ran it; anyone else
        gets NOT_FOUND, as for an unknown id."""
        assert call.identity is not None
        execution_id = call.request.execution_id
        execution = await self._ledger.execution(call.identity.tenant, execution_id)
        if execution is None or not (
            call.identity.operator or execution.caller == call.identity.caller
        ):
            raise ExecutionNotFound(
                f"no execution {execution_id!r}", metadata={"execution_id": execution_id}
            )
        call.facts.execution_id = execution.execution_id
        call.facts.connector_key = execution.connector_key
        call.facts.operation = execution.operation
        return execution

    async def ListExecutions(self, call: Call, ctx: Context) -> epb.ListExecutionsResponse:
        assert call.identity is not None
        status = _FROM_STATUS.get(call.request.status)
        scope = f"executions/{status.value if status else 'all'}"
        after = decode(call.request.page_token, scope)
        size = page_size(call.request.page_size)
        rows = await self._ledger.executions(call.identity.tenant, status, size + 1, after=after)
        shown, next_page_token = page(rows, size, _cursor, scope)
        return epb.ListExecutionsResponse(
            executions=[to_message(e) for e in shown], next_page_token=next_page_token
        )

    async def GetExecution(self, call: Call, ctx: Context) -> epb.GetExecutionResponse:
        return epb.GetExecutionResponse(execution=to_message(await self._visible(call)))

    async def ResolveExecution(self, call: Call, ctx: Context) -> epb.ResolveExecutionResponse:
        assert call.identity is not None
        execution = await self._visible(call)
        acted = call.request.resolution == epb.RESOLUTION_SUCCEEDED
        result = {"resolved_by": call.identity.caller, "note": call.request.note}
        if execution.idempotency_key.startswith(COMPENSATION_KEY_PREFIX):
            answer = pb.CompensateResponse(
                execution_id=execution.idempotency_key.removeprefix(COMPENSATION_KEY_PREFIX),
                compensating_operation=execution.operation,
                result=to_struct(result),
                attempts=execution.attempts,
            )
            outcome = response_outcome(answer)
        else:
            outcome = response_outcome(
                pb.ExecuteResponse(
                    execution_id=execution.execution_id,
                    result=to_struct(result),
                    attempts=execution.attempts,
                )
            )
        resolved = await self._ledger.resolve(
            tenant=call.identity.tenant,
            execution_id=execution.execution_id,
            acted=acted,
            outcome=outcome,
            result=result if acted else {},
        )
        if resolved is None:
            raise ExecutionNotUnknown(
                f"execution {execution.execution_id!r} has status {execution.status.value}; "
                "only an execution whose outcome is unknown can be resolved",
                metadata={"execution_id": execution.execution_id, "status": execution.status.value},
            )
        return epb.ResolveExecutionResponse(execution=to_message(resolved))
