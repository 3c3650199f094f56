"""The dictionary file, read once into typed definitions.

The models mirror ``metrics.v1.schema.json`` (a test holds the file to both) and add the
checks a schema cannot state: names are unique, every column has a declared type, and every
table and column a business metric reads is one of the documented shapes.
"""

from __future__ import annotations

import enum
import functools
import json
from pathlib import Path

from pydantic import BaseModel, ConfigDict, Field, model_validator

DICTIONARY_FILE = Path(__file__).with_name("metrics.v1.json")
SCHEMA_FILE = Path(__file__).with_name("metrics.v1.schema.json")


class _Part(BaseModel):
    model_config = ConfigDict(extra="forbid", frozen=True)


class PeriodKind(enum.StrEnum):
    WITHIN = "within"  # the events in [start, end)
    AS_OF_END = "as_of_end"  # the state once every event before end has happened
    CURRENT = "current"  # the state when the figure is computed


class Unit(enum.StrEnum):
    MONEY = "money"
    RATIO = "ratio"


class SourceKind(enum.StrEnum):
    BUSINESS_DATABASE = "business_database"
    GATEWAY = "gateway"


class NamedMeaning(_Part):
    name: str
    meaning: str


class NullReason(_Part):
    reason: str
    meaning: str


class Currency(_Part):
    code: str
    minor_digits: int = Field(ge=0, le=4)


class ColumnType(_Part):
    name: str
    sqlite: str
    postgresql: str
    meaning: str


class Column(_Part):
    name: str
    type: str
    nullable: bool
    meaning: str


class Table(_Part):
    name: str
    meaning: str
    columns: tuple[Column, ...]


class Definition(_Part):
    en: str
    ar: str = ""


class Period(_Part):
    kind: PeriodKind
    applies: str


class Read(_Part):
    table: str
    columns: tuple[str, ...]


class Metric(_Part):
    name: str
    definition: Definition
    owner: str
    unit: Unit
    source: SourceKind
    period: Period
    reads: tuple[Read, ...]
    formula: str
    rounding: str
    components: tuple[NamedMeaning, ...]
    null_when: tuple[NullReason, ...]

    @property
    def null_reasons(self) -> frozenset[str]:
        return frozenset(n.reason for n in self.null_when)


class Dictionary(_Part):
    schema_ref: str = Field(default="", alias="$schema")
    dictionary: str
    version: str
    conventions: tuple[NamedMeaning, ...]
    currencies: tuple[Currency, ...]
    column_types: tuple[ColumnType, ...]
    tables: tuple[Table, ...]
    metrics: tuple[Metric, ...]

    @model_validator(mode="after")
    def _consistent(self) -> Dictionary:
        for kind, names in (
            ("metric", [m.name for m in self.metrics]),
            ("table", [t.name for t in self.tables]),
            ("currency", [c.code for c in self.currencies]),
            ("column type", [t.name for t in self.column_types]),
        ):
            twice = sorted({n for n in names if names.count(n) > 1})
            if twice:
                raise ValueError(f"{kind} defined twice: {', '.join(twice)}")
        types = {t.name for t in self.column_types}
        tables = {t.name: {c.name for c in t.columns} for t in self.tables}
        for table in self.tables:
            for column in table.columns:
                if column.type not in types:
                    raise ValueError(f"{table.name}.{column.name} has no declared type")
        for metric in self.metrics:
            if metric.source is not SourceKind.BUSINESS_DATABASE:
                continue
            for read in metric.reads:
                missing = set(read.columns) - tables.get(read.table, set())
                if read.table not in tables or missing:
                    raise ValueError(
                        f"{metric.name} reads {read.table}({', '.join(sorted(missing))}), "
                        "which no documented table shape holds"
                    )
        return self

    def metric(self, name: str) -> Metric | None:
        return next((m for m in self.metrics if m.name == name), None)

    def currency(self, code: str) -> Currency | None:
        return next((c for c in self.currencies if c.code == code), None)

    def column_type(self, name: str) -> ColumnType:
        return next(t for t in self.column_types if t.name == name)

    @property
    def names(self) -> tuple[str, ...]:
        return tuple(m.name for m in self.metrics)


def read_dictionary(path: Path = DICTIONARY_FILE) -> Dictionary:
    return Dictionary.model_validate(json.loads(path.read_text(encoding="utf-8")))


@functools.cache
def dictionary() -> Dictionary:
    """The dictionary the gateway ships, read once."""
    return read_dictionary()
