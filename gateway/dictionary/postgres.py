"""A tenant's business database on PostgreSQL, through asyncpg."""

from __future__ import annotations

import asyncio
from collections.abc import Sequence
from datetime import datetime
from typing import Any

import asyncpg

from gateway.dictionary.sources import Query, invalid, unavailable

CLOSE_WITHIN_S = 5.0


class _Postgres:
    def placeholder(self, number: int) -> str:
        return f"${number}"

    def instant(self, column: str) -> str:
        return column

    def instant_placeholder(self, number: int) -> str:
        return f"${number}"

    def instant_value(self, moment: datetime) -> object:
        return moment


class PostgresSource:
    """A small asyncpg pool, opened on first use; each figure reads in a read-only
    transaction."""

    def __init__(self, dsn: str) -> None:
        self._dsn = dsn
        self._pool: asyncpg.Pool | None = None
        self._opening = asyncio.Lock()

    def query(self) -> Query:
        return Query(_Postgres())

    async def _pool_now(self) -> asyncpg.Pool:
        async with self._opening:
            if self._pool is None:
                self._pool = await asyncpg.create_pool(self._dsn, min_size=0, max_size=2)
            return self._pool

    async def row(self, query: Query, sql: str, timeout_s: float) -> Sequence[Any]:
        try:
            async with asyncio.timeout(timeout_s):
                pool = await self._pool_now()
                async with pool.acquire() as conn, conn.transaction(readonly=True):
                    row = await conn.fetchrow(sql, *query.params)
        except (asyncpg.UndefinedTableError, asyncpg.UndefinedColumnError) as error:
            raise invalid(str(error)) from None  # names the table or column only
        except (asyncpg.SyntaxOrAccessError, asyncpg.DataError) as error:
            # Rights, or a value of another type: the message can quote a value the database
            # holds, so only the kind is named.
            raise invalid(type(error).__name__) from None
        except asyncpg.InterfaceError as error:
            if isinstance(error, ValueError):  # a bound value the column's type cannot take
                raise invalid(type(error).__name__) from None
            raise unavailable(error) from None
        except (OSError, TimeoutError, ValueError, asyncpg.PostgresError) as error:
            raise unavailable(error) from None
        return tuple(row) if row is not None else ()

    async def close(self) -> None:
        pool, self._pool = self._pool, None
        if pool is None:
            return
        try:
            await asyncio.wait_for(pool.close(), CLOSE_WITHIN_S)
        except TimeoutError:  # a connection stuck in a query: closed without waiting
            pool.terminate()
