"""Validation: a caller's mistake stops here, before any policy decision or vendor contact.

The message is parsed from raw bytes; every id, name and free text is checked for its format
and length (``gateway.field_rules``) before it is looked up, recorded in the call's facts or
quoted; the connector and operation are resolved, and the payload is checked against its size
limit and the operation's model.
"""

from __future__ import annotations

import math
from typing import Any

from google.protobuf import struct_pb2
from google.protobuf.message import DecodeError, Message
from pydantic import BaseModel, ValidationError

from gateway.call import Call, Context, Target
from gateway.canonical import sha256_hex
from gateway.contract import OperationSpec
from gateway.dictionary.requests import check_compute_request
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
from gateway.field_rules import (
    APPROVAL_ID,
    EXECUTION_ID,
    IDEMPOTENCY_KEY,
    NAME,
    Format,
    check_format,
    check_text,
)
from gateway.interceptors.base import Next
from gateway.methods import APPROVE_APPROVAL, DENY_APPROVAL, RESOLVE_EXECUTION, Subject
from gateway.paging import MAX_PAGE_SIZE
from gateway.redaction import redact
from gateway.registry import Connector, Registry
from gateway.store.ledger import Execution, ExecutionStatus, Ledger

# A payload refusal stays far below gRPC's 16 KiB trailers whatever the payload holds.
MAX_VIOLATIONS = 20  # field violations reported per refusal
_PATH_PART_CHARS = 64  # a payload key quoted in a field path is cut to this length
_DESCRIPTION_CHARS = 200  # a model's message can quote the refused value


def _missing(field: str, what: str) -> MissingField:
    return MissingField(f"{field} is required: {what}", violations=(FieldViolation(field, what),))


def _required(field: str, value: str, expected: Format, what: str) -> str:
    """A required id or name, present and well formed."""
    if not value:
        raise _missing(field, what)
    return check_format(field, value, expected)


def _optional(field: str, value: str, expected: Format) -> str:
    """An optional id: empty, or well formed."""
    return check_format(field, value, expected) if value else ""


def _clip(text: str, limit: int) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


def _path(*parts: object) -> str:
    """A field path such as ``payload.to.0``; payload keys are the caller's, so cut short."""
    return ".".join(_clip(str(part), _PATH_PART_CHARS) for part in parts)


def _violations(error: ValidationError) -> tuple[FieldViolation, ...]:
    return tuple(
        FieldViolation(_path("payload", *item["loc"]), _clip(item["msg"], _DESCRIPTION_CHARS))
        for item in error.errors(include_url=False)
    )


def _plain(value: struct_pb2.Value, path: str) -> Any:
    """A ``Struct`` value as plain JSON data; INVALID_PAYLOAD for what JSON cannot carry."""
    kind = value.WhichOneof("kind")
    if kind == "number_value":
        if not math.isfinite(value.number_value):
            raise _bad_value(path, f"must be a finite number, not {value.number_value}")
        return value.number_value
    if kind == "string_value":
        return value.string_value
    if kind == "bool_value":
        return value.bool_value
    if kind == "struct_value":
        return _object(value.struct_value, path)
    if kind == "list_value":
        return [_plain(item, _path(path, i)) for i, item in enumerate(value.list_value.values)]
    return None  # null_value, or no kind set (read as null, as protobuf's JSON mapping does)


def _object(struct: struct_pb2.Struct, path: str) -> dict[str, Any]:
    return {key: _plain(item, _path(path, key)) for key, item in struct.fields.items()}


def _bad_value(path: str, problem: str) -> InvalidPayload:
    return InvalidPayload(f"{path} {problem}", violations=(FieldViolation(path, problem),))


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
        subject = call.rule.subject
        if subject is Subject.ACTION:
            call = self._execute(call, request)
        elif subject is Subject.COMPENSATION:
            call = await self._compensate(call, request)
        elif subject is Subject.CONNECTOR:
            key = _required("connector_key", request.connector_key, NAME, "the connector's key")
            call.facts.connector_key = self._connector(key).key
        elif subject is Subject.CONNECTOR_FILTER and request.connector_key:
            self._connector(check_format("connector_key", request.connector_key, NAME))
        elif subject is Subject.APPROVAL:
            call.facts.approval_id = _required(
                "approval_id",
                request.approval_id,
                APPROVAL_ID,
                "the id from the APPROVAL_REQUIRED refusal",
            )
            if call.rule is APPROVE_APPROVAL:
                check_text("note", request.note)
            if call.rule is DENY_APPROVAL:
                check_text("reason", request.reason)
                if not request.reason.strip():
                    raise _missing("reason", "say why the action must not run; the agent reads it")
        elif subject is Subject.EXECUTION:
            call.facts.execution_id = _required(
                "execution_id",
                request.execution_id,
                EXECUTION_ID,
                "the execution_id returned by Execute",
            )
            if call.rule is RESOLVE_EXECUTION:
                self._resolution(request)
        elif subject is Subject.METRIC:
            check_compute_request(request, call.facts, call.protocol)
        elif subject is Subject.LISTING and not (0 <= request.page_size <= MAX_PAGE_SIZE):
            raise InvalidField(
                f"page_size must be between 0 (the default, 100) and {MAX_PAGE_SIZE}",
                violations=(FieldViolation("page_size", f"0 to {MAX_PAGE_SIZE}"),),
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
        check_text("note", request.note)
        if not request.note.strip():
            raise _missing("note", "say how you know; it is audited")

    @staticmethod
    def _configured(call: Call, connector: Connector) -> None:
        """Refuses, before any approval is asked for, a connector that cannot act for the
        caller's tenant."""
        tenant = call.who().tenant
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
        call.facts.idempotency_key = check_format("idempotency_key", key, IDEMPOTENCY_KEY)

    def _execute(self, call: Call, request: Any) -> Call:
        key = _required(
            "connector_key", request.connector_key, NAME, "name the connector, see ListConnectors"
        )
        connector = self._connector(key)
        meta = connector.metadata
        call.facts.connector_key = meta.key
        self._configured(call, connector)
        names = ", ".join(o.name for o in meta.operations)
        name = _required("operation", request.operation, NAME, f"one of: {names}")
        _optional("approval_id", request.approval_id, APPROVAL_ID)  # the policy layer reads it
        operation = meta.operation(name)
        if operation is None:
            raise UnknownOperation(
                f"connector {meta.key!r} has no operation {name!r}; its operations are: {names}",
                metadata={"connector_key": meta.key, "operation": name},
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
        payload = self._payload(operation, _object(request.payload, "payload"))
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
    def _payload(operation: OperationSpec, data: dict[str, Any]) -> BaseModel:
        try:
            return operation.payload_model.model_validate(data)
        except ValidationError as error:
            violations = _violations(error)
            first = violations[0] if violations else FieldViolation("payload", "invalid")
            raise InvalidPayload(
                f"the payload does not fit operation {operation.name!r}: "
                f"{first.field}: {first.description}"
                + (f" (and {len(violations) - 1} more)" if len(violations) > 1 else ""),
                violations=violations[:MAX_VIOLATIONS],
            ) from None

    async def _compensate(self, call: Call, request: Any) -> Call:
        execution_id = _required(
            "execution_id",
            request.execution_id,
            EXECUTION_ID,
            "the execution_id returned by Execute",
        )
        check_text("reason", request.reason)
        if not request.reason.strip():
            raise _missing("reason", "say why the execution is undone; it is audited")
        self._idempotency_key(call, request.idempotency_key, required=True)
        _optional("approval_id", request.approval_id, APPROVAL_ID)  # the policy layer reads it
        execution = await visible_execution(self._ledger, call.who(), execution_id)
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
