"""Validation: a caller's mistake stops here, before any policy decision or vendor contact.

The message is parsed from raw bytes, the connector and operation are resolved, and the
payload is checked against its size limit and the operation's model.
"""

from __future__ import annotations

import re
from typing import Any

from google.protobuf import json_format
from google.protobuf.message import DecodeError, Message
from pydantic import BaseModel, ValidationError

from gateway.canonical import sha256_hex
from gateway.contract import OperationSpec
from gateway.errors import (
    ConnectorNotFound,
    ExecutionResultMissing,
    FieldViolation,
    InvalidField,
    InvalidPayload,
    MalformedRequest,
    MissingField,
    NotCompensable,
    NotConfigured,
    PayloadTooLarge,
    UnknownOperation,
)
from gateway.execution_access import visible_execution
from gateway.interceptors.base import Call, Context, Next, Target
from gateway.redaction import redact
from gateway.registry import Connector, Registry
from gateway.store.ledger import Execution, ExecutionStatus, Ledger

APPROVAL_METHODS = ("GetApproval", "WatchApproval", "ApproveApproval", "DenyApproval")
_KEY_PATTERN = re.compile(r"^[\x21-\x7e]{1,255}$")  # printable ASCII, no spaces


def _missing(field: str, what: str) -> MissingField:
    return MissingField(f"{field} is required: {what}", violations=(FieldViolation(field, what),))


def _violations(error: ValidationError) -> tuple[FieldViolation, ...]:
    found = []
    for item in error.errors(include_url=False):
        path = ".".join(str(p) for p in ("payload", *item["loc"]))
        found.append(FieldViolation(path, item["msg"]))
    return tuple(found)


class ValidationLayer:
    name = "validation"

    def __init__(self, registry: Registry, ledger: Ledger, max_payload_bytes: int) -> None:
        self._registry = registry
        self._ledger = ledger
        self._max_payload = max_payload_bytes

    async def intercept(self, call: Call, call_next: Next, ctx: Context) -> Message:
        try:
            request: Any = call.parse(call.raw)
        except (DecodeError, ValueError, RuntimeError) as error:
            raise MalformedRequest(
                f"the request is not a valid {call.method}Request message: {error}"
            ) from None
        call = call.with_(request=request)
        if call.method == "Execute":
            call = self._execute(call, request)
        elif call.method == "Compensate":
            call = await self._compensate(call, request)
        elif call.method == "DescribeConnector":
            if not request.connector_key:
                raise _missing("connector_key", "name the connector to describe")
            self._connector(request.connector_key)
        elif call.method in ("Health", "Metrics") and request.connector_key:
            self._connector(request.connector_key)
        elif call.method in APPROVAL_METHODS:
            if not request.approval_id:
                raise _missing("approval_id", "the id from the APPROVAL_REQUIRED refusal")
            call.facts.approval_id = request.approval_id
            if call.method == "DenyApproval" and not request.reason.strip():
                raise _missing("reason", "say why the action must not run; the agent reads it")
        elif call.method in ("GetExecution", "ResolveExecution"):
            if not request.execution_id:
                raise _missing("execution_id", "the execution_id returned by Execute")
            call.facts.execution_id = request.execution_id
            if call.method == "ResolveExecution":
                self._resolution(request)
        elif call.method in ("ListApprovals", "ListExecutions") and not (
            0 <= request.page_size <= 1000
        ):
            raise InvalidField(
                "page_size must be between 0 (the default, 100) and 1000",
                violations=(FieldViolation("page_size", "0 to 1000"),),
            )
        return await call_next(call)

    def _connector(self, key: str) -> Connector:
        connector = self._registry.get(key)
        if connector is None:
            known = ", ".join(c.key for c in self._registry.all())
            raise ConnectorNotFound(
                f"no connector {key!r}; known connectors: {known}",
                metadata={"connector_key": key},
            )
        return connector

    @staticmethod
    def _resolution(request: Any) -> None:
        if request.resolution not in (1, 2):  # RESOLUTION_SUCCEEDED, RESOLUTION_NOT_ACTED
            raise InvalidField(
                "resolution must be RESOLUTION_SUCCEEDED (the vendor acted) or "
                "RESOLUTION_NOT_ACTED (it did not)",
                violations=(FieldViolation("resolution", "SUCCEEDED or NOT_ACTED"),),
            )
        if not request.note.strip():
            raise _missing("note", "say how you know; it is audited")

    @staticmethod
    def _configured(call: Call, connector: Connector) -> None:
        """Refuses, before any approval is asked for, a connector that cannot act for the
        caller's tenant."""
        tenant = call.identity.tenant if call.identity else ""
        if not connector.configured_for(tenant):
            raise NotConfigured.for_tenant(connector.key)

    @staticmethod
    def _idempotency_key(call: Call, key: str, required: bool) -> None:
        if not key:
            if required:
                raise _missing(
                    "idempotency_key",
                    "choose a unique key per request and reuse it only to retry that request",
                )
            return
        if not _KEY_PATTERN.match(key):
            raise InvalidField(
                "idempotency_key must be 1 to 255 printable ASCII characters without spaces",
                violations=(FieldViolation("idempotency_key", "1-255 printable ASCII"),),
            )
        call.facts.idempotency_key = key

    def _execute(self, call: Call, request: Any) -> Call:
        if not request.connector_key:
            raise _missing("connector_key", "name the connector, see ListConnectors")
        connector = self._connector(request.connector_key)
        meta = connector.metadata
        call.facts.connector_key = meta.key
        self._configured(call, connector)
        if not request.operation:
            raise _missing("operation", f"one of: {', '.join(o.name for o in meta.operations)}")
        operation = meta.operation(request.operation)
        if operation is None:
            names = ", ".join(o.name for o in meta.operations)
            raise UnknownOperation(
                f"connector {meta.key!r} has no operation {request.operation!r}; "
                f"its operations are: {names}",
                metadata={"connector_key": meta.key, "operation": request.operation},
                violations=(FieldViolation("operation", f"must be one of: {names}"),),
            )
        call.facts.operation = operation.name
        call.facts.success_event = operation.success_event
        call.facts.failure_event = operation.failure_event
        self._idempotency_key(call, request.idempotency_key, required=not operation.read_only)
        size = request.payload.ByteSize()
        if size > self._max_payload:
            raise PayloadTooLarge(
                f"the payload is {size} bytes; the limit is {self._max_payload} bytes",
                metadata={"limit_bytes": str(self._max_payload), "size_bytes": str(size)},
                violations=(FieldViolation("payload", f"at most {self._max_payload} bytes"),),
            )
        payload = self._payload(operation, request.payload)
        validated = payload.model_dump(mode="json", exclude_defaults=True)
        try:
            call.facts.payload_digest = sha256_hex(validated)
        except ValueError as error:  # numbers outside the range JSON can carry exactly
            raise InvalidPayload(
                f"the payload has a number that cannot be represented exactly: {error}; "
                "send identifiers and amounts beyond 2^53 as strings",
                violations=(FieldViolation("payload", str(error)),),
            ) from None
        call.facts.payload_redacted = redact(validated, meta.data_classification)
        return call.with_(target=Target(meta, operation, payload))

    @staticmethod
    def _payload(operation: OperationSpec, struct: Any) -> BaseModel:
        data = json_format.MessageToDict(struct)
        try:
            return operation.payload_model.model_validate(data)
        except ValidationError as error:
            violations = _violations(error)
            first = violations[0] if violations else FieldViolation("payload", "invalid")
            raise InvalidPayload(
                f"the payload does not fit operation {operation.name!r}: "
                f"{first.field}: {first.description}"
                + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
                violations=violations,
            ) from None

    async def _compensate(self, call: Call, request: Any) -> Call:
        if not request.execution_id:
            raise _missing("execution_id", "the execution_id returned by Execute")
        if not request.reason.strip():
            raise _missing("reason", "say why the execution is undone; it is audited")
        self._idempotency_key(call, request.idempotency_key, required=True)
        assert call.identity is not None  # authentication runs first
        execution = await visible_execution(self._ledger, call.identity, request.execution_id)
        call.facts.execution_id = execution.execution_id
        connector = self._connector(execution.connector_key)
        meta = connector.metadata
        call.facts.connector_key = meta.key
        self._configured(call, connector)
        original = meta.operation(execution.operation)
        undo = meta.operation(original.compensation) if original and original.compensation else None
        if original is None or undo is None:
            call.facts.operation = execution.operation
            raise NotCompensable(
                f"{meta.key}.{execution.operation} cannot be undone (it declares no "
                "compensating operation)",
                metadata={"connector_key": meta.key, "operation": execution.operation},
            )
        call.facts.operation = undo.name
        if execution.status is ExecutionStatus.SUCCEEDED:
            self._undoable_result(execution, original)
        # What an approval of this compensation is bound to: the execution and the undo.
        call.facts.payload_digest = sha256_hex(
            {"execution_id": execution.execution_id, "operation": undo.name}
        )
        call.facts.payload_redacted = {"execution_id": execution.execution_id}
        return call.with_(
            target=Target(meta, undo, original.payload_model.model_construct()),
            execution=execution,
        )

    @staticmethod
    def _undoable_result(execution: Execution, original: OperationSpec) -> None:
        """Refuses an execution whose stored result lacks the vendor ids the undo needs."""
        if original.result_model is None:
            return
        try:
            original.result_model.model_validate(execution.result)
        except ValidationError:
            raise ExecutionResultMissing(
                f"execution {execution.execution_id!r} holds no vendor ids to undo (it was "
                "resolved by an operator without the vendor's result); undo it at the vendor "
                "directly",
                metadata={"execution_id": execution.execution_id},
            ) from None
