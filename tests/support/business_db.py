"""Business databases of the dictionary's documented table shapes, built by the tests: a
SQLite file, or a schema of the test's own in PostgreSQL's database ``test`` (dropped at the
end). The tables are created from ``metrics.v1.json`` itself, so the shapes it documents are
shown to be enough."""

from __future__ import annotations

import secrets
import sqlite3
from collections.abc import AsyncIterator, Mapping, Sequence
from contextlib import asynccontextmanager
from datetime import datetime
from pathlib import Path
from typing import Any

import asyncpg

from gateway.dictionary.definitions import Table, dictionary

POSTGRES_SERVER = "postgresql://postgres@127.0.0.1:5432/test"

Rows = Mapping[str, Sequence[Mapping[str, Any]]]  # table name -> rows (column -> value)


def _create(table: Table, engine: str, schema: str = "") -> str:
    types = {t.name: t for t in dictionary().column_types}
    columns = ", ".join(
        f"{c.name} {getattr(types[c.type], engine)}{'' if c.nullable else ' NOT NULL'}"
        for c in table.columns
    )
    return f"CREATE TABLE {schema}{table.name} ({columns})"


def _timestamps(table: Table) -> frozenset[str]:
    return frozenset(c.name for c in table.columns if c.type == "timestamp")


def sqlite_database(path: Path, rows: Rows) -> str:
    """A SQLite file holding ``rows`` (timestamps as the ISO 8601 text given); its URL."""
    with sqlite3.connect(path) as conn:
        for table in dictionary().tables:
            conn.execute(_create(table, "sqlite"))
            for row in rows.get(table.name, ()):
                names = ", ".join(row)
                marks = ", ".join("?" for _ in row)
                conn.execute(
                    f"INSERT INTO {table.name} ({names}) VALUES ({marks})", tuple(row.values())
                )
    conn.close()
    return f"sqlite://{path.resolve()}"


def _pg_value(column: str, value: Any, timestamps: frozenset[str]) -> Any:
    if column in timestamps and isinstance(value, str):
        return datetime.fromisoformat(value)
    return value


@asynccontextmanager
async def postgres_database(rows: Rows) -> AsyncIterator[str]:
    """A schema of this test's own in the database ``test`` holding ``rows``; its URL
    (``search_path`` names the schema). The schema is dropped at the end."""
    schema = f"dictionary_test_{secrets.token_hex(6)}"
    conn = await asyncpg.connect(POSTGRES_SERVER)
    try:
        await conn.execute(f"CREATE SCHEMA {schema}")
        for table in dictionary().tables:
            await conn.execute(_create(table, "postgresql", f"{schema}."))
            timestamps = _timestamps(table)
            for row in rows.get(table.name, ()):
                names = ", ".join(row)
                marks = ", ".join(f"${i}" for i in range(1, len(row) + 1))
                await conn.execute(
                    f"INSERT INTO {schema}.{table.name} ({names}) VALUES ({marks})",
                    *(_pg_value(k, v, timestamps) for k, v in row.items()),
                )
        yield f"{POSTGRES_SERVER}?search_path={schema}"
    finally:
        await conn.execute(f"DROP SCHEMA IF EXISTS {schema} CASCADE")
        await conn.close()
