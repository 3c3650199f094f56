"""How a call's final answer is stored with its key, and replayed from there.

An answer is a response message (serialized) or a gateway error (code, reason, message,
metadata). Repeats of the key get it back as it was, marked ``replayed``; a key whose outcome
is unknown answers OUTCOME_UNKNOWN with what the first answer said.
"""

from __future__ import annotations

import base64
from typing import Any, TypeVar

import grpc
from google.protobuf.message import Message

from gateway.errors import GatewayError, OutcomeUnknown, StoredError
from gateway.store.ledger import ExecutionStatus, IdempotencyRecord, RecordState

REPLAY_EVENT = "execution_replayed"  # the audit event of an answer given from the store


def final_state(
    answer: Message | GatewayError,
) -> tuple[RecordState, ExecutionStatus, dict[str, Any]]:
    """The key's state, the execution's status and the stored outcome for a final answer: a
    success, a final failure (the vendor refused), or an unknown outcome."""
    if isinstance(answer, OutcomeUnknown):
        return RecordState.UNKNOWN, ExecutionStatus.UNKNOWN, error_outcome(answer)
    if isinstance(answer, GatewayError):
        return RecordState.COMPLETED, ExecutionStatus.FAILED, error_outcome(answer)
    return RecordState.COMPLETED, ExecutionStatus.SUCCEEDED, response_outcome(answer)


def response_outcome(response: Message) -> dict[str, Any]:
    return {"response": base64.b64encode(response.SerializeToString()).decode()}


def error_outcome(error: GatewayError) -> dict[str, Any]:
    return {
        "error": {
            "code": error.code.name,
            "reason": error.reason,
            "message": error.message,
            "metadata": dict(error.metadata),
        }
    }


def stored_error(outcome: dict[str, Any]) -> StoredError:
    err = outcome["error"]
    return StoredError(grpc.StatusCode[err["code"]], err["reason"], err["message"], err["metadata"])


M = TypeVar("M", bound=Message)


def stored_response(outcome: dict[str, Any], response_type: type[M]) -> M:
    response = response_type()
    response.ParseFromString(base64.b64decode(outcome["response"]))
    return response


def replay(record: IdempotencyRecord, response_type: type[M]) -> M:
    """The stored answer of an earlier call with this key: its response (``replayed``
    set), or its stored failure raised again; OUTCOME_UNKNOWN while nobody knows."""
    if record.state is RecordState.UNKNOWN:
        # What the first answer said (cause, attempts, ...), when it got to store it.
        first: dict[str, str] = record.outcome.get("error", {}).get("metadata", {})
        raise OutcomeUnknown(
            f"the first call with idempotency key {record.key!r} may have reached the "
            "vendor, and its outcome is not known; it is listed for operators to resolve. "
            "Do not repeat it under a new key before checking with them",
            metadata={**first, "execution_id": record.execution_id, "replayed": "true"},
        )
    return replay_outcome(record.outcome, response_type)


def replay_outcome(outcome: dict[str, Any], response_type: type[M]) -> M:
    if "error" in outcome:
        raise stored_error(outcome).with_metadata(replayed="true")
    response = stored_response(outcome, response_type)
    response.replayed = True  # type: ignore[attr-defined]
    return response
