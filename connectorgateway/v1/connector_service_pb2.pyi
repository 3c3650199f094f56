import datetime

from connectorgateway.v1 import metric_dictionary_service_pb2 as _metric_dictionary_service_pb2
from google.protobuf import struct_pb2 as _struct_pb2
from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class ConnectorStatus(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CONNECTOR_STATUS_UNSPECIFIED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_OK: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_DEGRADED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_ERROR: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_UNKNOWN: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_NOT_CONFIGURED: _ClassVar[ConnectorStatus]
    CONNECTOR_STATUS_DISABLED: _ClassVar[ConnectorStatus]

class CircuitState(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    CIRCUIT_STATE_UNSPECIFIED: _ClassVar[CircuitState]
    CIRCUIT_STATE_CLOSED: _ClassVar[CircuitState]
    CIRCUIT_STATE_OPEN: _ClassVar[CircuitState]
    CIRCUIT_STATE_HALF_OPEN: _ClassVar[CircuitState]

class PolicyClass(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    POLICY_CLASS_UNSPECIFIED: _ClassVar[PolicyClass]
    POLICY_CLASS_A: _ClassVar[PolicyClass]
    POLICY_CLASS_B: _ClassVar[PolicyClass]
    POLICY_CLASS_C: _ClassVar[PolicyClass]

class Idempotency(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    IDEMPOTENCY_UNSPECIFIED: _ClassVar[Idempotency]
    IDEMPOTENCY_NATIVE: _ClassVar[Idempotency]
    IDEMPOTENCY_GATEWAY: _ClassVar[Idempotency]
    IDEMPOTENCY_NONE: _ClassVar[Idempotency]

class DataClassification(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    DATA_CLASSIFICATION_UNSPECIFIED: _ClassVar[DataClassification]
    DATA_CLASSIFICATION_PUBLIC: _ClassVar[DataClassification]
    DATA_CLASSIFICATION_INTERNAL: _ClassVar[DataClassification]
    DATA_CLASSIFICATION_CONFIDENTIAL: _ClassVar[DataClassification]
    DATA_CLASSIFICATION_RESTRICTED: _ClassVar[DataClassification]
CONNECTOR_STATUS_UNSPECIFIED: ConnectorStatus
CONNECTOR_STATUS_OK: ConnectorStatus
CONNECTOR_STATUS_DEGRADED: ConnectorStatus
CONNECTOR_STATUS_ERROR: ConnectorStatus
CONNECTOR_STATUS_UNKNOWN: ConnectorStatus
CONNECTOR_STATUS_NOT_CONFIGURED: ConnectorStatus
CONNECTOR_STATUS_DISABLED: ConnectorStatus
CIRCUIT_STATE_UNSPECIFIED: CircuitState
CIRCUIT_STATE_CLOSED: CircuitState
CIRCUIT_STATE_OPEN: CircuitState
CIRCUIT_STATE_HALF_OPEN: CircuitState
POLICY_CLASS_UNSPECIFIED: PolicyClass
POLICY_CLASS_A: PolicyClass
POLICY_CLASS_B: PolicyClass
POLICY_CLASS_C: PolicyClass
IDEMPOTENCY_UNSPECIFIED: Idempotency
IDEMPOTENCY_NATIVE: Idempotency
IDEMPOTENCY_GATEWAY: Idempotency
IDEMPOTENCY_NONE: Idempotency
DATA_CLASSIFICATION_UNSPECIFIED: DataClassification
DATA_CLASSIFICATION_PUBLIC: DataClassification
DATA_CLASSIFICATION_INTERNAL: DataClassification
DATA_CLASSIFICATION_CONFIDENTIAL: DataClassification
DATA_CLASSIFICATION_RESTRICTED: DataClassification

class ExecuteRequest(_message.Message):
    __slots__ = ("connector_key", "operation", "payload", "idempotency_key", "approval_id")
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    OPERATION_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    operation: str
    payload: _struct_pb2.Struct
    idempotency_key: str
    approval_id: str
    def __init__(self, connector_key: _Optional[str] = ..., operation: _Optional[str] = ..., payload: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., idempotency_key: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class ExecuteResponse(_message.Message):
    __slots__ = ("execution_id", "result", "attempts", "audit_event_id", "replayed")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    result: _struct_pb2.Struct
    attempts: int
    audit_event_id: str
    replayed: bool
    def __init__(self, execution_id: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., attempts: _Optional[int] = ..., audit_event_id: _Optional[str] = ..., replayed: _Optional[bool] = ...) -> None: ...

class CompensateRequest(_message.Message):
    __slots__ = ("execution_id", "reason", "idempotency_key", "approval_id")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_KEY_FIELD_NUMBER: _ClassVar[int]
    APPROVAL_ID_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    reason: str
    idempotency_key: str
    approval_id: str
    def __init__(self, execution_id: _Optional[str] = ..., reason: _Optional[str] = ..., idempotency_key: _Optional[str] = ..., approval_id: _Optional[str] = ...) -> None: ...

class CompensateResponse(_message.Message):
    __slots__ = ("execution_id", "compensating_operation", "result", "attempts", "audit_event_id", "replayed")
    EXECUTION_ID_FIELD_NUMBER: _ClassVar[int]
    COMPENSATING_OPERATION_FIELD_NUMBER: _ClassVar[int]
    RESULT_FIELD_NUMBER: _ClassVar[int]
    ATTEMPTS_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    REPLAYED_FIELD_NUMBER: _ClassVar[int]
    execution_id: str
    compensating_operation: str
    result: _struct_pb2.Struct
    attempts: int
    audit_event_id: str
    replayed: bool
    def __init__(self, execution_id: _Optional[str] = ..., compensating_operation: _Optional[str] = ..., result: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., attempts: _Optional[int] = ..., audit_event_id: _Optional[str] = ..., replayed: _Optional[bool] = ...) -> None: ...

class HealthRequest(_message.Message):
    __slots__ = ("connector_key",)
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    def __init__(self, connector_key: _Optional[str] = ...) -> None: ...

class HealthResponse(_message.Message):
    __slots__ = ("connectors", "connector_health")
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    CONNECTOR_HEALTH_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[ConnectorHealth]
    connector_health: _metric_dictionary_service_pb2.ComputeMetricResponse
    def __init__(self, connectors: _Optional[_Iterable[_Union[ConnectorHealth, _Mapping]]] = ..., connector_health: _Optional[_Union[_metric_dictionary_service_pb2.ComputeMetricResponse, _Mapping]] = ...) -> None: ...

class ConnectorHealth(_message.Message):
    __slots__ = ("connector_key", "display_name", "display_name_ar", "status", "last_success_at", "last_attempt_at", "last_error", "registered", "circuit_state", "sandbox", "recent_calls", "recent_error_rate", "latency_p95_ms", "disabled_reason", "disabled_by", "disabled_at")
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_AR_FIELD_NUMBER: _ClassVar[int]
    STATUS_FIELD_NUMBER: _ClassVar[int]
    LAST_SUCCESS_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ATTEMPT_AT_FIELD_NUMBER: _ClassVar[int]
    LAST_ERROR_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_STATE_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    RECENT_CALLS_FIELD_NUMBER: _ClassVar[int]
    RECENT_ERROR_RATE_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    DISABLED_REASON_FIELD_NUMBER: _ClassVar[int]
    DISABLED_BY_FIELD_NUMBER: _ClassVar[int]
    DISABLED_AT_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    display_name: str
    display_name_ar: str
    status: ConnectorStatus
    last_success_at: _timestamp_pb2.Timestamp
    last_attempt_at: _timestamp_pb2.Timestamp
    last_error: str
    registered: bool
    circuit_state: CircuitState
    sandbox: bool
    recent_calls: int
    recent_error_rate: float
    latency_p95_ms: float
    disabled_reason: str
    disabled_by: str
    disabled_at: _timestamp_pb2.Timestamp
    def __init__(self, connector_key: _Optional[str] = ..., display_name: _Optional[str] = ..., display_name_ar: _Optional[str] = ..., status: _Optional[_Union[ConnectorStatus, str]] = ..., last_success_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_attempt_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., last_error: _Optional[str] = ..., registered: _Optional[bool] = ..., circuit_state: _Optional[_Union[CircuitState, str]] = ..., sandbox: _Optional[bool] = ..., recent_calls: _Optional[int] = ..., recent_error_rate: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., disabled_reason: _Optional[str] = ..., disabled_by: _Optional[str] = ..., disabled_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class MetricsRequest(_message.Message):
    __slots__ = ("connector_key",)
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    def __init__(self, connector_key: _Optional[str] = ...) -> None: ...

class MetricsResponse(_message.Message):
    __slots__ = ("connectors",)
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[ConnectorMetrics]
    def __init__(self, connectors: _Optional[_Iterable[_Union[ConnectorMetrics, _Mapping]]] = ...) -> None: ...

class ConnectorMetrics(_message.Message):
    __slots__ = ("connector_key", "calls", "successes", "failures_by_code", "retries", "timeouts", "latency_p50_ms", "latency_p95_ms", "latency_p99_ms", "circuit_state", "sandbox")
    class FailuresByCodeEntry(_message.Message):
        __slots__ = ("key", "value")
        KEY_FIELD_NUMBER: _ClassVar[int]
        VALUE_FIELD_NUMBER: _ClassVar[int]
        key: str
        value: int
        def __init__(self, key: _Optional[str] = ..., value: _Optional[int] = ...) -> None: ...
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    CALLS_FIELD_NUMBER: _ClassVar[int]
    SUCCESSES_FIELD_NUMBER: _ClassVar[int]
    FAILURES_BY_CODE_FIELD_NUMBER: _ClassVar[int]
    RETRIES_FIELD_NUMBER: _ClassVar[int]
    TIMEOUTS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P50_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P95_MS_FIELD_NUMBER: _ClassVar[int]
    LATENCY_P99_MS_FIELD_NUMBER: _ClassVar[int]
    CIRCUIT_STATE_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    calls: int
    successes: int
    failures_by_code: _containers.ScalarMap[str, int]
    retries: int
    timeouts: int
    latency_p50_ms: float
    latency_p95_ms: float
    latency_p99_ms: float
    circuit_state: CircuitState
    sandbox: bool
    def __init__(self, connector_key: _Optional[str] = ..., calls: _Optional[int] = ..., successes: _Optional[int] = ..., failures_by_code: _Optional[_Mapping[str, int]] = ..., retries: _Optional[int] = ..., timeouts: _Optional[int] = ..., latency_p50_ms: _Optional[float] = ..., latency_p95_ms: _Optional[float] = ..., latency_p99_ms: _Optional[float] = ..., circuit_state: _Optional[_Union[CircuitState, str]] = ..., sandbox: _Optional[bool] = ...) -> None: ...

class ListConnectorsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListConnectorsResponse(_message.Message):
    __slots__ = ("connectors",)
    CONNECTORS_FIELD_NUMBER: _ClassVar[int]
    connectors: _containers.RepeatedCompositeFieldContainer[ConnectorDescriptor]
    def __init__(self, connectors: _Optional[_Iterable[_Union[ConnectorDescriptor, _Mapping]]] = ...) -> None: ...

class DescribeConnectorRequest(_message.Message):
    __slots__ = ("connector_key",)
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    def __init__(self, connector_key: _Optional[str] = ...) -> None: ...

class DescribeConnectorResponse(_message.Message):
    __slots__ = ("connector",)
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    connector: ConnectorDescriptor
    def __init__(self, connector: _Optional[_Union[ConnectorDescriptor, _Mapping]] = ...) -> None: ...

class DisableConnectorRequest(_message.Message):
    __slots__ = ("connector_key", "reason")
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    reason: str
    def __init__(self, connector_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class DisableConnectorResponse(_message.Message):
    __slots__ = ("connector", "audit_event_id")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    connector: ConnectorHealth
    audit_event_id: str
    def __init__(self, connector: _Optional[_Union[ConnectorHealth, _Mapping]] = ..., audit_event_id: _Optional[str] = ...) -> None: ...

class EnableConnectorRequest(_message.Message):
    __slots__ = ("connector_key", "reason")
    CONNECTOR_KEY_FIELD_NUMBER: _ClassVar[int]
    REASON_FIELD_NUMBER: _ClassVar[int]
    connector_key: str
    reason: str
    def __init__(self, connector_key: _Optional[str] = ..., reason: _Optional[str] = ...) -> None: ...

class EnableConnectorResponse(_message.Message):
    __slots__ = ("connector", "audit_event_id")
    CONNECTOR_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_ID_FIELD_NUMBER: _ClassVar[int]
    connector: ConnectorHealth
    audit_event_id: str
    def __init__(self, connector: _Optional[_Union[ConnectorHealth, _Mapping]] = ..., audit_event_id: _Optional[str] = ...) -> None: ...

class RetryPolicy(_message.Message):
    __slots__ = ("max_retries", "backoff_ms")
    MAX_RETRIES_FIELD_NUMBER: _ClassVar[int]
    BACKOFF_MS_FIELD_NUMBER: _ClassVar[int]
    max_retries: int
    backoff_ms: _containers.RepeatedScalarFieldContainer[int]
    def __init__(self, max_retries: _Optional[int] = ..., backoff_ms: _Optional[_Iterable[int]] = ...) -> None: ...

class OperationDescriptor(_message.Message):
    __slots__ = ("name", "description", "policy_class", "idempotency", "read_only", "payload_schema", "compensation", "success_event", "failure_event", "result_schema")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DESCRIPTION_FIELD_NUMBER: _ClassVar[int]
    POLICY_CLASS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_FIELD_NUMBER: _ClassVar[int]
    READ_ONLY_FIELD_NUMBER: _ClassVar[int]
    PAYLOAD_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    COMPENSATION_FIELD_NUMBER: _ClassVar[int]
    SUCCESS_EVENT_FIELD_NUMBER: _ClassVar[int]
    FAILURE_EVENT_FIELD_NUMBER: _ClassVar[int]
    RESULT_SCHEMA_FIELD_NUMBER: _ClassVar[int]
    name: str
    description: str
    policy_class: PolicyClass
    idempotency: Idempotency
    read_only: bool
    payload_schema: _struct_pb2.Struct
    compensation: str
    success_event: str
    failure_event: str
    result_schema: _struct_pb2.Struct
    def __init__(self, name: _Optional[str] = ..., description: _Optional[str] = ..., policy_class: _Optional[_Union[PolicyClass, str]] = ..., idempotency: _Optional[_Union[Idempotency, str]] = ..., read_only: _Optional[bool] = ..., payload_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ..., compensation: _Optional[str] = ..., success_event: _Optional[str] = ..., failure_event: _Optional[str] = ..., result_schema: _Optional[_Union[_struct_pb2.Struct, _Mapping]] = ...) -> None: ...

class ConnectorDescriptor(_message.Message):
    __slots__ = ("key", "display_name", "display_name_ar", "version", "contract_url", "retry_policy", "timeout_ms", "idempotency", "data_classification", "audit_event_types", "operations", "registered", "configured", "rate_limit_per_second", "rate_limit_burst", "sandbox")
    KEY_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_FIELD_NUMBER: _ClassVar[int]
    DISPLAY_NAME_AR_FIELD_NUMBER: _ClassVar[int]
    VERSION_FIELD_NUMBER: _ClassVar[int]
    CONTRACT_URL_FIELD_NUMBER: _ClassVar[int]
    RETRY_POLICY_FIELD_NUMBER: _ClassVar[int]
    TIMEOUT_MS_FIELD_NUMBER: _ClassVar[int]
    IDEMPOTENCY_FIELD_NUMBER: _ClassVar[int]
    DATA_CLASSIFICATION_FIELD_NUMBER: _ClassVar[int]
    AUDIT_EVENT_TYPES_FIELD_NUMBER: _ClassVar[int]
    OPERATIONS_FIELD_NUMBER: _ClassVar[int]
    REGISTERED_FIELD_NUMBER: _ClassVar[int]
    CONFIGURED_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_PER_SECOND_FIELD_NUMBER: _ClassVar[int]
    RATE_LIMIT_BURST_FIELD_NUMBER: _ClassVar[int]
    SANDBOX_FIELD_NUMBER: _ClassVar[int]
    key: str
    display_name: str
    display_name_ar: str
    version: str
    contract_url: str
    retry_policy: RetryPolicy
    timeout_ms: int
    idempotency: Idempotency
    data_classification: DataClassification
    audit_event_types: _containers.RepeatedScalarFieldContainer[str]
    operations: _containers.RepeatedCompositeFieldContainer[OperationDescriptor]
    registered: bool
    configured: bool
    rate_limit_per_second: float
    rate_limit_burst: int
    sandbox: bool
    def __init__(self, key: _Optional[str] = ..., display_name: _Optional[str] = ..., display_name_ar: _Optional[str] = ..., version: _Optional[str] = ..., contract_url: _Optional[str] = ..., retry_policy: _Optional[_Union[RetryPolicy, _Mapping]] = ..., timeout_ms: _Optional[int] = ..., idempotency: _Optional[_Union[Idempotency, str]] = ..., data_classification: _Optional[_Union[DataClassification, str]] = ..., audit_event_types: _Optional[_Iterable[str]] = ..., operations: _Optional[_Iterable[_Union[OperationDescriptor, _Mapping]]] = ..., registered: _Optional[bool] = ..., configured: _Optional[bool] = ..., rate_limit_per_second: _Optional[float] = ..., rate_limit_burst: _Optional[int] = ..., sandbox: _Optional[bool] = ...) -> None: ...
