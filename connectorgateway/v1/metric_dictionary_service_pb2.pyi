import datetime

from google.protobuf import timestamp_pb2 as _timestamp_pb2
from google.protobuf.internal import containers as _containers
from google.protobuf.internal import enum_type_wrapper as _enum_type_wrapper
from google.protobuf import descriptor as _descriptor
from google.protobuf import message as _message
from collections.abc import Iterable as _Iterable, Mapping as _Mapping
from typing import ClassVar as _ClassVar, Optional as _Optional, Union as _Union

DESCRIPTOR: _descriptor.FileDescriptor

class PeriodKind(int, metaclass=_enum_type_wrapper.EnumTypeWrapper):
    __slots__ = ()
    PERIOD_KIND_UNSPECIFIED: _ClassVar[PeriodKind]
    PERIOD_KIND_WITHIN: _ClassVar[PeriodKind]
    PERIOD_KIND_AS_OF_END: _ClassVar[PeriodKind]
    PERIOD_KIND_CURRENT: _ClassVar[PeriodKind]
PERIOD_KIND_UNSPECIFIED: PeriodKind
PERIOD_KIND_WITHIN: PeriodKind
PERIOD_KIND_AS_OF_END: PeriodKind
PERIOD_KIND_CURRENT: PeriodKind

class ListMetricsRequest(_message.Message):
    __slots__ = ()
    def __init__(self) -> None: ...

class ListMetricsResponse(_message.Message):
    __slots__ = ("dictionary_version", "metrics", "conventions", "currencies", "reporting_currency", "column_types", "tables")
    DICTIONARY_VERSION_FIELD_NUMBER: _ClassVar[int]
    METRICS_FIELD_NUMBER: _ClassVar[int]
    CONVENTIONS_FIELD_NUMBER: _ClassVar[int]
    CURRENCIES_FIELD_NUMBER: _ClassVar[int]
    REPORTING_CURRENCY_FIELD_NUMBER: _ClassVar[int]
    COLUMN_TYPES_FIELD_NUMBER: _ClassVar[int]
    TABLES_FIELD_NUMBER: _ClassVar[int]
    dictionary_version: str
    metrics: _containers.RepeatedCompositeFieldContainer[MetricDefinition]
    conventions: _containers.RepeatedCompositeFieldContainer[NamedText]
    currencies: _containers.RepeatedCompositeFieldContainer[CurrencyDefinition]
    reporting_currency: str
    column_types: _containers.RepeatedCompositeFieldContainer[ColumnType]
    tables: _containers.RepeatedCompositeFieldContainer[TableShape]
    def __init__(self, dictionary_version: _Optional[str] = ..., metrics: _Optional[_Iterable[_Union[MetricDefinition, _Mapping]]] = ..., conventions: _Optional[_Iterable[_Union[NamedText, _Mapping]]] = ..., currencies: _Optional[_Iterable[_Union[CurrencyDefinition, _Mapping]]] = ..., reporting_currency: _Optional[str] = ..., column_types: _Optional[_Iterable[_Union[ColumnType, _Mapping]]] = ..., tables: _Optional[_Iterable[_Union[TableShape, _Mapping]]] = ...) -> None: ...

class MetricDefinition(_message.Message):
    __slots__ = ("name", "definition_en", "definition_ar", "owner", "unit", "source", "period_kind", "period_applies", "reads", "formula", "rounding", "components", "null_reasons")
    NAME_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_EN_FIELD_NUMBER: _ClassVar[int]
    DEFINITION_AR_FIELD_NUMBER: _ClassVar[int]
    OWNER_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    SOURCE_FIELD_NUMBER: _ClassVar[int]
    PERIOD_KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_APPLIES_FIELD_NUMBER: _ClassVar[int]
    READS_FIELD_NUMBER: _ClassVar[int]
    FORMULA_FIELD_NUMBER: _ClassVar[int]
    ROUNDING_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    NULL_REASONS_FIELD_NUMBER: _ClassVar[int]
    name: str
    definition_en: str
    definition_ar: str
    owner: str
    unit: str
    source: str
    period_kind: PeriodKind
    period_applies: str
    reads: _containers.RepeatedCompositeFieldContainer[TableRead]
    formula: str
    rounding: str
    components: _containers.RepeatedCompositeFieldContainer[NamedText]
    null_reasons: _containers.RepeatedCompositeFieldContainer[NamedText]
    def __init__(self, name: _Optional[str] = ..., definition_en: _Optional[str] = ..., definition_ar: _Optional[str] = ..., owner: _Optional[str] = ..., unit: _Optional[str] = ..., source: _Optional[str] = ..., period_kind: _Optional[_Union[PeriodKind, str]] = ..., period_applies: _Optional[str] = ..., reads: _Optional[_Iterable[_Union[TableRead, _Mapping]]] = ..., formula: _Optional[str] = ..., rounding: _Optional[str] = ..., components: _Optional[_Iterable[_Union[NamedText, _Mapping]]] = ..., null_reasons: _Optional[_Iterable[_Union[NamedText, _Mapping]]] = ...) -> None: ...

class NamedText(_message.Message):
    __slots__ = ("name", "meaning")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    name: str
    meaning: str
    def __init__(self, name: _Optional[str] = ..., meaning: _Optional[str] = ...) -> None: ...

class CurrencyDefinition(_message.Message):
    __slots__ = ("code", "minor_digits")
    CODE_FIELD_NUMBER: _ClassVar[int]
    MINOR_DIGITS_FIELD_NUMBER: _ClassVar[int]
    code: str
    minor_digits: int
    def __init__(self, code: _Optional[str] = ..., minor_digits: _Optional[int] = ...) -> None: ...

class ColumnType(_message.Message):
    __slots__ = ("name", "sqlite", "postgresql", "meaning")
    NAME_FIELD_NUMBER: _ClassVar[int]
    SQLITE_FIELD_NUMBER: _ClassVar[int]
    POSTGRESQL_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    name: str
    sqlite: str
    postgresql: str
    meaning: str
    def __init__(self, name: _Optional[str] = ..., sqlite: _Optional[str] = ..., postgresql: _Optional[str] = ..., meaning: _Optional[str] = ...) -> None: ...

class TableShape(_message.Message):
    __slots__ = ("name", "meaning", "columns")
    NAME_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    name: str
    meaning: str
    columns: _containers.RepeatedCompositeFieldContainer[TableColumn]
    def __init__(self, name: _Optional[str] = ..., meaning: _Optional[str] = ..., columns: _Optional[_Iterable[_Union[TableColumn, _Mapping]]] = ...) -> None: ...

class TableColumn(_message.Message):
    __slots__ = ("name", "type", "nullable", "meaning")
    NAME_FIELD_NUMBER: _ClassVar[int]
    TYPE_FIELD_NUMBER: _ClassVar[int]
    NULLABLE_FIELD_NUMBER: _ClassVar[int]
    MEANING_FIELD_NUMBER: _ClassVar[int]
    name: str
    type: str
    nullable: bool
    meaning: str
    def __init__(self, name: _Optional[str] = ..., type: _Optional[str] = ..., nullable: _Optional[bool] = ..., meaning: _Optional[str] = ...) -> None: ...

class TableRead(_message.Message):
    __slots__ = ("table", "columns")
    TABLE_FIELD_NUMBER: _ClassVar[int]
    COLUMNS_FIELD_NUMBER: _ClassVar[int]
    table: str
    columns: _containers.RepeatedScalarFieldContainer[str]
    def __init__(self, table: _Optional[str] = ..., columns: _Optional[_Iterable[str]] = ...) -> None: ...

class ComputeMetricRequest(_message.Message):
    __slots__ = ("name", "period_start", "period_end")
    NAME_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    name: str
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    def __init__(self, name: _Optional[str] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ...) -> None: ...

class ComputeMetricResponse(_message.Message):
    __slots__ = ("name", "value", "null_reason", "unit", "currency", "period_kind", "period_start", "period_end", "computed_at", "components", "dictionary_version")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    NULL_REASON_FIELD_NUMBER: _ClassVar[int]
    UNIT_FIELD_NUMBER: _ClassVar[int]
    CURRENCY_FIELD_NUMBER: _ClassVar[int]
    PERIOD_KIND_FIELD_NUMBER: _ClassVar[int]
    PERIOD_START_FIELD_NUMBER: _ClassVar[int]
    PERIOD_END_FIELD_NUMBER: _ClassVar[int]
    COMPUTED_AT_FIELD_NUMBER: _ClassVar[int]
    COMPONENTS_FIELD_NUMBER: _ClassVar[int]
    DICTIONARY_VERSION_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    null_reason: str
    unit: str
    currency: str
    period_kind: PeriodKind
    period_start: _timestamp_pb2.Timestamp
    period_end: _timestamp_pb2.Timestamp
    computed_at: _timestamp_pb2.Timestamp
    components: _containers.RepeatedCompositeFieldContainer[MetricComponent]
    dictionary_version: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ..., null_reason: _Optional[str] = ..., unit: _Optional[str] = ..., currency: _Optional[str] = ..., period_kind: _Optional[_Union[PeriodKind, str]] = ..., period_start: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., period_end: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., computed_at: _Optional[_Union[datetime.datetime, _timestamp_pb2.Timestamp, _Mapping]] = ..., components: _Optional[_Iterable[_Union[MetricComponent, _Mapping]]] = ..., dictionary_version: _Optional[str] = ...) -> None: ...

class MetricComponent(_message.Message):
    __slots__ = ("name", "value")
    NAME_FIELD_NUMBER: _ClassVar[int]
    VALUE_FIELD_NUMBER: _ClassVar[int]
    name: str
    value: str
    def __init__(self, name: _Optional[str] = ..., value: _Optional[str] = ...) -> None: ...
