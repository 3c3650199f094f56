"""Rewriting caller ids stored before callers had namespaces.

Approvals and executions written by an older gateway name their callers in the old, plain
form (a token's ``sub`` or a certificate's common name, bare). At start-up each such id is
rewritten to the one caller of the authorization policy whose credential carries that name
(``agent-a`` -> ``jwt:https://issuer.example#agent-a``), so that callers keep seeing their
own approvals and executions and nobody approves their own request under a new name. An id
that several callers could have carried (a token's ``sub`` and a certificate's common name
alike) is left as it is and logged: only an operator knows which it was. Ids that are
already namespaced, or are themselves callers of the policy (development names), are kept.

Audit rows are never rewritten: they are hash-chained, and rows written before the change
keep the old ids.
"""

from __future__ import annotations

import logging
from collections import defaultdict
from collections.abc import Iterable
from dataclasses import dataclass, field
from pathlib import Path

from gateway.auth.caller_ids import credential_name, is_namespaced
from gateway.store import sqlite

log = logging.getLogger(__name__)

# Every stored column that holds a caller id, except the audit trail's. A column missing from
# this database (a table another version adds) is skipped.
CALLER_COLUMNS = (
    ("approval_requests", "requested_by"),
    ("approval_requests", "resolved_by"),
    ("executions", "caller"),
    ("idempotency_records", "scope"),
)


@dataclass(frozen=True)
class CallerMapping:
    """Old id -> the new id it is rewritten to, and the old ids left for being ambiguous."""

    rewrites: dict[str, str]
    ambiguous: dict[str, tuple[str, ...]] = field(default_factory=dict)


def plan(stored: Iterable[str], callers: Iterable[str]) -> CallerMapping:
    """How each stored id maps onto the policy's callers."""
    callers = tuple(callers)
    known = set(callers)
    carried_by: dict[str, list[str]] = defaultdict(list)
    for caller in callers:
        carried_by[credential_name(caller)].append(caller)
    rewrites: dict[str, str] = {}
    ambiguous: dict[str, tuple[str, ...]] = {}
    for old in set(stored):
        if not old or old in known or is_namespaced(old):
            continue
        candidates = carried_by.get(old, [])
        if len(candidates) == 1:
            rewrites[old] = candidates[0]
        elif candidates:
            ambiguous[old] = tuple(sorted(candidates))
    return CallerMapping(rewrites, ambiguous)


async def rewrite_stored_callers(path: Path, callers: Iterable[str]) -> int:
    """Rewrites old-form caller ids in the database at ``path`` to the policy's callers, in
    one transaction; returns how many values were changed."""
    callers = tuple(callers)
    conn = await sqlite.connect(path)
    changed = 0
    try:
        await conn.execute("BEGIN IMMEDIATE")
        try:
            for table, column in CALLER_COLUMNS:
                if not await _has_column(conn, table, column):
                    continue
                async with conn.execute(f"SELECT DISTINCT {column} FROM {table}") as cursor:
                    stored = [str(row[0]) for row in await cursor.fetchall()]
                mapping = plan(stored, callers)
                for old, new in sorted(mapping.rewrites.items()):
                    cursor = await conn.execute(
                        f"UPDATE {table} SET {column} = ? WHERE {column} = ?", (new, old)
                    )
                    changed += cursor.rowcount
                    log.info("stored caller %r in %s.%s is now %r", old, table, column, new)
                for old, candidates in sorted(mapping.ambiguous.items()):
                    log.warning(
                        "stored caller %r in %s.%s is left in the old form: the policy callers "
                        "%s could each have been it",
                        old,
                        table,
                        column,
                        ", ".join(repr(c) for c in candidates),
                    )
            await conn.execute("COMMIT")
        except BaseException:
            await conn.execute("ROLLBACK")
            raise
    finally:
        await conn.close()
    return changed


async def _has_column(conn: sqlite.Connection, table: str, column: str) -> bool:
    async with conn.execute(f"PRAGMA table_info({table})") as cursor:
        return any(row[1] == column for row in await cursor.fetchall())
