"""The tenant's business database, read-only: a SQLite file here, or PostgreSQL
(``postgres.py``); ``source_by_url.py`` opens the one a URL names.

A metric writes its SQL once through a ``Query``, which renders the placeholders and the
comparison of instants in the source's dialect; every value is a bound parameter. SQLite
compares its ISO 8601 text as instants (``julianday``), PostgreSQL its ``timestamptz``
columns directly.

Failures are the gateway's errors: a database that cannot be read now is
METRIC_SOURCE_UNAVAILABLE, one without the documented shapes METRIC_SOURCE_INVALID. Neither
quotes the database's address (it can hold a password) nor any value the database holds.
"""

from __future__ import annotations

import asyncio
import sqlite3
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import Any, Protocol
from urllib.parse import urlsplit

from gateway.errors import MetricSourceInvalid, MetricSourceUnavailable

SQLITE_SCHEMES = frozenset({"sqlite"})
POSTGRES_SCHEMES = frozenset({"postgresql", "postgres"})
_SQLITE_SHAPE_ERRORS = ("no such table", "no such column")
_PROGRESS_STEPS = 1000  # SQLite virtual machine steps between two looks at the clock


class Dialect(Protocol):
    def placeholder(self, number: int) -> str: ...
    def instant(self, column: str) -> str: ...
    def instant_placeholder(self, number: int) -> str: ...
    def instant_value(self, moment: datetime) -> object: ...


class _Sqlite:
    # Numbered, like PostgreSQL's: a parameter's place in the text never matters.
    def placeholder(self, number: int) -> str:
        return f"?{number}"

    def instant(self, column: str) -> str:
        return f"julianday({column})"

    def instant_placeholder(self, number: int) -> str:
        return f"julianday(?{number})"

    def instant_value(self, moment: datetime) -> object:
        return moment.astimezone(UTC).isoformat(timespec="microseconds")


@dataclass
class Query:
    """Collects bound parameters while a metric writes its SQL."""

    dialect: Dialect
    params: list[object] = field(default_factory=list)

    def value(self, value: object) -> str:
        self.params.append(value)
        return self.dialect.placeholder(len(self.params))

    def at(self, column: str) -> str:
        """A column holding an instant, as the dialect compares instants."""
        return self.dialect.instant(column)

    def instant(self, moment: datetime) -> str:
        self.params.append(self.dialect.instant_value(moment))
        return self.dialect.instant_placeholder(len(self.params))


class Source(Protocol):
    def query(self) -> Query:
        """A new query in this source's dialect."""
        ...

    async def row(self, query: Query, sql: str, timeout_s: float) -> Sequence[Any]:
        """The one row ``sql`` answers, read within ``timeout_s``."""
        ...

    async def close(self) -> None: ...


def unavailable(error: BaseException) -> MetricSourceUnavailable:
    return MetricSourceUnavailable(
        f"the tenant's metrics database could not be read ({type(error).__name__}); try again "
        "shortly"
    )


def invalid(detail: str) -> MetricSourceInvalid:
    return MetricSourceInvalid(
        f"the tenant's metrics database does not hold the documented table shapes ({detail}); "
        "see GET /api/v1/metrics/dictionary for the tables and columns"
    )


class SqliteSource:
    """A SQLite file opened read-only for each figure, on a worker thread."""

    def __init__(self, path: Path) -> None:
        self._uri = f"{path.resolve().as_uri()}?mode=ro"

    def query(self) -> Query:
        return Query(_Sqlite())

    async def row(self, query: Query, sql: str, timeout_s: float) -> Sequence[Any]:
        return await asyncio.to_thread(self._row, sql, tuple(query.params), timeout_s)

    def _row(self, sql: str, params: tuple[object, ...], timeout_s: float) -> Sequence[Any]:
        until = time.monotonic() + timeout_s
        try:
            conn = sqlite3.connect(self._uri, uri=True, timeout=timeout_s)
        except sqlite3.Error as error:
            raise unavailable(error) from None
        try:
            # Ends a statement that outlives its time (it raises OperationalError).
            conn.set_progress_handler(lambda: time.monotonic() > until, _PROGRESS_STEPS)
            row = conn.execute(sql, params).fetchone()
        except sqlite3.OperationalError as error:
            text = str(error)
            if text.startswith(_SQLITE_SHAPE_ERRORS):
                raise invalid(text) from None
            raise unavailable(error) from None
        except sqlite3.Error as error:  # not a database, a value of another type
            raise invalid(type(error).__name__) from None
        finally:
            conn.close()
        return tuple(row) if row is not None else ()

    async def close(self) -> None:
        return None


def scheme_of(url: str) -> str:
    return urlsplit(url).scheme.lower()
