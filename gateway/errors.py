"""The gateway's one error hierarchy.

Each class fixes its gRPC code, a constant UPPER_SNAKE reason and whether the caller may retry.
Only the status-mapping layer turns these into a gRPC status (see ``gateway.status``); the
table in docs/errors.md documents every reason for agent authors.
"""

from __future__ import annotations

from collections.abc import Mapping
from dataclasses import dataclass

import grpc

DOMAIN = "connectorgateway"


@dataclass(frozen=True)
class FieldViolation:
    """One invalid field of the request, as reported in ``google.rpc.BadRequest``."""

    field: str
    description: str


class GatewayError(Exception):
    """Base of every error the gateway answers deliberately."""

    code: grpc.StatusCode = grpc.StatusCode.INTERNAL
    reason: str = "INTERNAL"
    retryable: bool = False
    # How long a retryable refusal asks the caller to wait, unless the error says otherwise.
    default_retry_after_ms: int | None = None
    # Whether the request may have reached the vendor and been acted on. The retry engine
    # repeats such a failure only for reads and for operations the vendor deduplicates.
    may_have_acted: bool = False
    # Whether the failure says something about the vendor's health (circuit breaker, board)
    # rather than about this request.
    vendor_fault: bool = False

    def __init__(
        self,
        message: str,
        *,
        metadata: Mapping[str, str] | None = None,
        violations: tuple[FieldViolation, ...] = (),
        retry_after_ms: int | None = None,
        may_have_acted: bool | None = None,
    ) -> None:
        super().__init__(message)
        self.message = message
        self.metadata: dict[str, str] = dict(metadata or {})
        self.violations = violations
        if may_have_acted is not None:
            self.may_have_acted = may_have_acted
        self.retry_after_ms = retry_after_ms  # as asked by whoever refused (a vendor's Retry-After)

    @property
    def retry_info_ms(self) -> int | None:
        """The wait to tell the caller in RetryInfo; None for refusals not worth retrying."""
        if not self.retryable:
            return None
        if self.retry_after_ms is not None:
            return self.retry_after_ms
        return self.default_retry_after_ms

    def with_metadata(self, **items: str) -> GatewayError:
        """Adds metadata (for example the attempts made) and returns the same error."""
        self.metadata.update(items)
        return self


# --- the caller's mistakes: fix the request --------------------------------------------------


class MalformedRequest(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "MALFORMED_REQUEST"


class InvalidPayload(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_PAYLOAD"


class PayloadTooLarge(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "PAYLOAD_TOO_LARGE"


class MissingField(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "MISSING_FIELD"


class UnknownOperation(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "UNKNOWN_OPERATION"


class ConnectorNotFound(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "CONNECTOR_NOT_FOUND"


class ExecutionNotFound(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "EXECUTION_NOT_FOUND"


# --- refusals by governance ------------------------------------------------------------------


class Unauthenticated(GatewayError):
    code = grpc.StatusCode.UNAUTHENTICATED
    reason = "UNAUTHENTICATED"


class PolicyForbidden(GatewayError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "POLICY_FORBIDDEN"


class ApprovalRequired(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_REQUIRED"


class NotConfigured(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "CONNECTOR_NOT_CONFIGURED"

    @classmethod
    def for_tenant(cls, connector_key: str) -> NotConfigured:
        return cls(
            f"connector {connector_key!r} is not configured for your tenant in this gateway "
            "(no adapter or no vendor account); an operator must configure it",
            metadata={"connector_key": connector_key},
        )


class NotSandboxed(GatewayError):
    """What a sandbox received is asked of a connector that acts at its real vendor (or is
    not configured) for the caller's tenant: there is no sandbox to show."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "NOT_SANDBOXED"

    @classmethod
    def for_tenant(cls, connector_key: str) -> NotSandboxed:
        return cls(
            f"connector {connector_key!r} does not run against a sandbox for your tenant: it "
            "acts at its vendor with the tenant's own account, or is not configured",
            metadata={"connector_key": connector_key},
        )


class ExecutionNotSucceeded(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "EXECUTION_NOT_SUCCEEDED"


class ExecutionNotUnknown(GatewayError):
    """Only an execution whose outcome is unknown can be resolved by an operator."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "EXECUTION_NOT_UNKNOWN"


class VendorLookupUnavailable(GatewayError):
    """The vendor cannot be asked about this execution (it offers no lookup, or the gateway no
    longer holds the request): an operator finds out and uses ResolveExecution."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "VENDOR_LOOKUP_UNAVAILABLE"


class NotCompensable(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "NOT_COMPENSABLE"


class ExecutionResultMissing(GatewayError):
    """The execution's stored result lacks the vendor ids its compensation needs (it was
    resolved by an operator without them)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "EXECUTION_RESULT_MISSING"


class ShuttingDown(GatewayError):
    code = grpc.StatusCode.UNAVAILABLE
    reason = "SHUTTING_DOWN"
    retryable = True
    default_retry_after_ms = 1000


# --- the vendor's answers --------------------------------------------------------------------


class VendorAuthFailed(GatewayError):
    """The vendor refused the gateway's own credentials: an operator must fix them.

    Deliberately FAILED_PRECONDITION, never UNAUTHENTICATED, which would tell the agent that
    its own token is wrong.
    """

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "VENDOR_AUTH_FAILED"
    vendor_fault = True


class VendorRejected(GatewayError):
    """The vendor refused this request for what it contains; retrying it unchanged fails."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "VENDOR_REJECTED"


class MessagingWindowClosed(VendorRejected):
    """The vendor takes no free-form message to this recipient now (WhatsApp's 24-hour
    customer service window is closed); an approved template may still be sent."""

    reason = "MESSAGING_WINDOW_CLOSED"


class VendorUnavailable(GatewayError):
    """The vendor could not be reached or failed before acting; safe to retry later."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "VENDOR_UNAVAILABLE"
    retryable = True
    default_retry_after_ms = 1000
    vendor_fault = True


class DeadlineExceeded(GatewayError):
    """The call's deadline ran out before the vendor acted."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "DEADLINE_EXCEEDED"
    retryable = True
    default_retry_after_ms = 0  # retry at once, with a longer deadline
    vendor_fault = True  # the vendor or the path to it was too slow


class OutcomeUnknown(GatewayError):
    """The request may have reached the vendor, but its outcome could not be learned.

    UNKNOWN is a code that neither gRPC's own retry nor service meshes retry by default, so a
    write that may have happened is not repeated blindly.
    """

    code = grpc.StatusCode.UNKNOWN
    reason = "OUTCOME_UNKNOWN"
    may_have_acted = True
    vendor_fault = True


class Internal(GatewayError):
    code = grpc.StatusCode.INTERNAL
    reason = "INTERNAL"


class InvalidField(GatewayError):
    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "INVALID_FIELD"


class IdempotencyKeyReused(GatewayError):
    """The key was first used for a different request; keys may only repeat a request."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "IDEMPOTENCY_KEY_REUSED"


class RateLimited(GatewayError):
    """The gateway's own quota for this connector has no token left within the deadline."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "RATE_LIMITED"
    retryable = True
    default_retry_after_ms = 1000


class CircuitOpen(GatewayError):
    """The connector failed repeatedly; calls fail fast until a trial call succeeds."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "CIRCUIT_OPEN"
    retryable = True
    default_retry_after_ms = 1000


class VendorRateLimited(GatewayError):
    """The vendor answered 429: it did not act, and asks to wait."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "VENDOR_RATE_LIMITED"
    retryable = True
    default_retry_after_ms = 1000


class VendorError(GatewayError):
    """The vendor failed while handling the request (HTTP 500): it may have acted."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "VENDOR_ERROR"
    may_have_acted = True
    vendor_fault = True


class VendorBadResponse(GatewayError):
    """The vendor answered, but its response could not be read; it may have acted."""

    code = grpc.StatusCode.UNKNOWN
    reason = "VENDOR_BAD_RESPONSE"
    may_have_acted = True
    vendor_fault = True


class StoredError(GatewayError):
    """A final failure replayed from the idempotency record, with its original code and reason."""

    def __init__(
        self, code: grpc.StatusCode, reason: str, message: str, metadata: Mapping[str, str]
    ) -> None:
        super().__init__(message, metadata=metadata)
        self.code = code
        self.reason = reason


# --- caller identity -------------------------------------------------------------------------


class CredentialsMissing(Unauthenticated):
    reason = "CREDENTIALS_MISSING"


class TokenInvalid(Unauthenticated):
    """Malformed, forged (bad signature), signed with an unknown key or algorithm."""

    reason = "TOKEN_INVALID"


class TokenExpired(Unauthenticated):
    reason = "TOKEN_EXPIRED"


class TokenWrongAudience(Unauthenticated):
    reason = "TOKEN_WRONG_AUDIENCE"


class TokenWrongIssuer(Unauthenticated):
    reason = "TOKEN_WRONG_ISSUER"


class CallerNotAllowed(GatewayError):
    """The caller is known but the authorization policy does not allow this call."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "CALLER_NOT_ALLOWED"


class OperatorRequired(GatewayError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "OPERATOR_REQUIRED"


class CsrfRejected(GatewayError):
    """An HTTP change without a CSRF token issued to the same caller."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "CSRF_TOKEN_INVALID"


# --- approvals -------------------------------------------------------------------------------


class ApprovalNotFound(GatewayError):
    """No approval with this id in the caller's tenant (another tenant's looks the same)."""

    code = grpc.StatusCode.NOT_FOUND
    reason = "APPROVAL_NOT_FOUND"

    @classmethod
    def for_id(cls, approval_id: str) -> ApprovalNotFound:
        """The one answer for an unknown id, and for an approval the caller may not see."""
        return cls(
            f"no approval {approval_id!r} in this tenant", metadata={"approval_id": approval_id}
        )


class ApprovalPending(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_PENDING"


class ApprovalDenied(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_DENIED"


class ApprovalExpired(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_EXPIRED"


class ApprovalUsed(GatewayError):
    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_USED"


class ApprovalMismatch(GatewayError):
    """The approval was granted for another connector, operation, payload or execution."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_MISMATCH"


class ApprovalNotPending(GatewayError):
    """An operator tried to grant or deny an approval that is already resolved."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "APPROVAL_NOT_PENDING"


class SelfApprovalForbidden(GatewayError):
    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "SELF_APPROVAL_FORBIDDEN"


class TooManyPendingApprovals(GatewayError):
    """The caller already has as many approval requests waiting as it may have."""

    code = grpc.StatusCode.RESOURCE_EXHAUSTED
    reason = "TOO_MANY_PENDING_APPROVALS"


# --- the HTTP side ---------------------------------------------------------------------------


class HostNotAllowed(GatewayError):
    """The Host header names a host this gateway does not answer to (DNS rebinding)."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "HOST_NOT_ALLOWED"


class OriginNotAllowed(GatewayError):
    """A change sent by a web page of another origin (or an opaque ``Origin: null``)."""

    code = grpc.StatusCode.PERMISSION_DENIED
    reason = "ORIGIN_NOT_ALLOWED"


class SessionInvalid(Unauthenticated):
    """A sign-in cookie that is forged, expired, or from an earlier run of the gateway."""

    reason = "SESSION_INVALID"


class LoginTokenInvalid(Unauthenticated):
    """A wrong or already used one-time login token."""

    reason = "LOGIN_TOKEN_INVALID"


class RouteNotFound(GatewayError):
    code = grpc.StatusCode.NOT_FOUND
    reason = "ROUTE_NOT_FOUND"


class MethodNotAllowed(GatewayError):
    code = grpc.StatusCode.UNIMPLEMENTED
    reason = "METHOD_NOT_ALLOWED"


class BodyTimeout(GatewayError):
    """The request's body did not arrive within ``http.body_timeout_s``."""

    code = grpc.StatusCode.DEADLINE_EXCEEDED
    reason = "BODY_TIMEOUT"
    retryable = True
    default_retry_after_ms = 0


class TooManyConnections(GatewayError):
    """``http.max_connections`` connections are open; the new one is answered and closed."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "TOO_MANY_CONNECTIONS"
    retryable = True
    default_retry_after_ms = 1000


# --- the metric dictionary ---------------------------------------------------------------


class UnknownMetric(GatewayError):
    """The name is not one of the dictionary's metrics."""

    code = grpc.StatusCode.INVALID_ARGUMENT
    reason = "UNKNOWN_METRIC"


class MetricSourceNotConfigured(GatewayError):
    """A business metric is asked of a tenant whose business database the deployment does not
    name (``dictionary.database_url``, ``dictionary.tenant_databases``)."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "METRIC_SOURCE_NOT_CONFIGURED"


class MetricSourceInvalid(GatewayError):
    """The tenant's business database lacks a table or column of the documented shapes, or
    holds a value of another type."""

    code = grpc.StatusCode.FAILED_PRECONDITION
    reason = "METRIC_SOURCE_INVALID"


class MetricSourceUnavailable(GatewayError):
    """The tenant's business database could not be read just now (unreachable, busy, slow)."""

    code = grpc.StatusCode.UNAVAILABLE
    reason = "METRIC_SOURCE_UNAVAILABLE"
    retryable = True
    default_retry_after_ms = 5000
