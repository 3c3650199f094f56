"""ExecutionService: the tenant's executions, and operators' resolution of unknown outcomes."""

from __future__ import annotations

from typing import Any

from google.protobuf import json_format, struct_pb2, timestamp_pb2
from google.protobuf.message import Message
from pydantic import ValidationError

from connectorgateway.v1 import connector_service_pb2 as pb
from connectorgateway.v1 import execution_service_pb2 as epb
from gateway.call import Admitted, Context
from gateway.clock import to_text
from gateway.contract import OperationSpec
from gateway.descriptors import to_struct
from gateway.errors import ExecutionNotUnknown, FieldViolation, InvalidField, VendorBadResponse
from gateway.execution.lookup import VendorLookup
from gateway.execution_access import visible_execution
from gateway.paging import Cursor, decode, page, page_size
from gateway.registry import Registry
from gateway.reliability.idempotency import COMPENSATION_KEY_PREFIX
from gateway.store.ledger import Execution, ExecutionStatus, Ledger
from gateway.store.outcomes import response_outcome

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
        resolution_note=execution.resolution_note,
    )


def _struct_dict(struct: struct_pb2.Struct) -> dict[str, Any]:
    try:
        return json_format.MessageToDict(struct)
    except ValueError as error:  # NaN or Infinity: not JSON
        raise InvalidField(
            "result holds a number JSON cannot carry (NaN or Infinity)",
            violations=(FieldViolation("result", str(error)[:200]),),
        ) from None


def _checked_result(operation: OperationSpec | None, result: dict[str, Any]) -> dict[str, Any]:
    """The vendor's result an operator supplies, checked against the operation's result
    schema; required when the operation can be undone (its compensation needs the ids)."""
    if operation is None or operation.result_model is None:
        return result
    if not result and operation.compensation is None:
        return result
    try:
        operation.result_model.model_validate(result)
    except ValidationError as error:
        violations = tuple(
            FieldViolation(".".join(str(p) for p in ("result", *item["loc"])), item["msg"])
            for item in error.errors(include_url=False)
        )
        raise InvalidField(
            f"result does not fit what {operation.name} returns: give the vendor's ids, read "
            "at the vendor (see result_schema in DescribeConnector)",
            violations=violations,
        ) from None
    return result


class ExecutionServicer:
    def __init__(
        self,
        ledger: Ledger,
        registry: Registry,
        lookup: VendorLookup,
        *,
        idempotency_ttl_s: float,
    ) -> None:
        self._ledger = ledger
        self._registry = registry
        self._lookup = lookup
        self._ttl_s = idempotency_ttl_s

    async def _visible(self, call: Admitted[Any]) -> Execution:
        execution = await visible_execution(self._ledger, call.identity, call.request.execution_id)
        call.facts.execution_id = execution.execution_id
        call.facts.connector_key = execution.connector_key
        call.facts.operation = execution.operation
        return execution

    async def ListExecutions(
        self, call: Admitted[epb.ListExecutionsRequest], ctx: Context
    ) -> epb.ListExecutionsResponse:
        status = _FROM_STATUS.get(call.request.status)
        scope = f"executions/{status.value if status else 'all'}"
        after = decode(call.request.page_token, scope)
        size = page_size(call.request.page_size)
        rows = await self._ledger.executions(call.tenant, status, size + 1, after=after)
        shown, next_page_token = page(rows, size, _cursor, scope)
        return epb.ListExecutionsResponse(
            executions=[to_message(e) for e in shown], next_page_token=next_page_token
        )

    async def GetExecution(
        self, call: Admitted[epb.GetExecutionRequest], ctx: Context
    ) -> epb.GetExecutionResponse:
        return epb.GetExecutionResponse(execution=to_message(await self._visible(call)))

    async def ResolveExecution(
        self, call: Admitted[epb.ResolveExecutionRequest], ctx: Context
    ) -> epb.ResolveExecutionResponse:
        execution = await self._visible(call)
        acted = call.request.resolution == epb.RESOLUTION_SUCCEEDED
        result = _struct_dict(call.request.result)
        if not acted and result:
            raise InvalidField(
                "result is only given for RESOLUTION_SUCCEEDED: a vendor that did not act "
                "returned nothing",
                violations=(FieldViolation("result", "must be empty for NOT_ACTED"),),
            )
        if acted:
            result = _checked_result(self._operation(execution), result)
        resolved = await self._resolve(call, execution, acted, result, call.request.note)
        return epb.ResolveExecutionResponse(execution=to_message(resolved))

    async def ReconcileExecution(
        self, call: Admitted[epb.ReconcileExecutionRequest], ctx: Context
    ) -> epb.ReconcileExecutionResponse:
        execution = await self._visible(call)
        if execution.status is not ExecutionStatus.UNKNOWN:
            raise _not_unknown(execution)
        lookup = await self._lookup.ask(execution, call.deadline)
        result: dict[str, Any] = {}
        if lookup.found:
            try:
                result = _checked_result(self._operation(execution), dict(lookup.result))
            except InvalidField:
                raise VendorBadResponse(
                    f"{execution.connector_key} found the request but its answer lacks what "
                    f"{execution.operation} returns; the execution is still unknown",
                    metadata={"execution_id": execution.execution_id},
                ) from None
            note = "reconciled: the vendor found the request by the gateway's marker"
        else:
            note = "reconciled: the vendor holds no request with the gateway's marker"
        resolved = await self._resolve(call, execution, lookup.found, result, note)
        return epb.ReconcileExecutionResponse(execution=to_message(resolved), found=lookup.found)

    def _operation(self, execution: Execution) -> OperationSpec | None:
        connector = self._registry.get(execution.connector_key)
        return connector.metadata.operation(execution.operation) if connector else None

    async def _resolve(
        self,
        call: Admitted[Any],
        execution: Execution,
        acted: bool,
        result: dict[str, Any],
        note: str,
    ) -> Execution:
        """Settles an unknown execution: the answer repeats of its key replay, or its key
        freed."""
        call.facts.resolution = "succeeded" if acted else "not_acted"
        compensates = ""
        if execution.idempotency_key.startswith(COMPENSATION_KEY_PREFIX):
            compensates = execution.idempotency_key.removeprefix(COMPENSATION_KEY_PREFIX)
            answer: Message = pb.CompensateResponse(
                execution_id=compensates,
                compensating_operation=execution.operation,
                result=to_struct(result),
                attempts=execution.attempts,
            )
        else:
            answer = pb.ExecuteResponse(
                execution_id=execution.execution_id,
                result=to_struct(result),
                attempts=execution.attempts,
            )
        resolved = await self._ledger.resolve(
            tenant=call.tenant,
            execution_id=execution.execution_id,
            acted=acted,
            outcome=response_outcome(answer),
            result=result if acted else {},
            note=note,
            ttl_s=self._ttl_s,
            compensates=compensates,
        )
        if resolved is None:
            raise _not_unknown(execution)
        return resolved


def _not_unknown(execution: Execution) -> ExecutionNotUnknown:
    return ExecutionNotUnknown(
        f"execution {execution.execution_id!r} has status {execution.status.value}; "
        "only an execution whose outcome is unknown can be resolved",
        metadata={"execution_id": execution.execution_id, "status": execution.status.value},
    )
