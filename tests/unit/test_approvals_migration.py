"""Approvals stored before full payloads and breach times were kept still read, count in the
SLA figure, and show operators the redacted copy they have."""

from __future__ import annotations

import sqlite3
from datetime import timedelta
from importlib import resources
from pathlib import Path

from gateway.api.approval_service import to_message
from gateway.approvals import ApprovalClocks, ApprovalStatus
from tests.support.approval_store import REDACTED, T0, store_env

REQUESTED = "2025-03-01T09:00:59.999999Z"  # the fraction must survive the date arithmetic


def database_before_full_payloads(path: Path) -> None:
    migrations = resources.files("gateway.store.migrations")
    with sqlite3.connect(path) as conn:
        conn.execute(
            "CREATE TABLE schema_migrations (version INTEGER PRIMARY KEY, name TEXT NOT NULL, "
            "applied_at TEXT NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')))"
        )
        for version, name in ((1, "0001_initial.sql"), (2, "0002_idempotency.sql")):
            conn.executescript(migrations.joinpath(name).read_text(encoding="utf-8"))
            conn.execute(
                "INSERT INTO schema_migrations (version, name) VALUES (?, ?)", (version, name)
            )
        name = "0003_approvals.sql"
        conn.executescript(migrations.joinpath(name).read_text(encoding="utf-8"))
        conn.execute("INSERT INTO schema_migrations (version, name) VALUES (3, ?)", (name,))
        conn.execute(
            "INSERT INTO approval_requests (approval_id, tenant, connector_key, operation, "
            "payload_digest, payload_redacted, status, requested_by, requested_at, expires_at) "
            "VALUES ('apr_old', 'acme', 'email', 'send', 'ab', ?, 'pending', 'agent', ?, ?)",
            (
                '{"to": "<string:17>", "subject": "<string:5>", "amount": "<float>"}',
                REQUESTED,
                "2025-03-02T09:00:59.999999Z",
            ),
        )


async def test_an_older_request_gets_the_default_breach_time_and_shows_its_redacted_copy(
    tmp_path: Path,
) -> None:
    path = tmp_path / "gateway.db"
    database_before_full_payloads(path)
    async with store_env(path) as env:  # migrates to the current version
        with sqlite3.connect(path) as conn:
            [breach] = conn.execute("SELECT sla_breach_at FROM approval_requests").fetchone()
        assert breach == "2025-03-02T09:00:59.999999Z"

        old = await env.store.get("acme", "apr_old")
        assert old.status is ApprovalStatus.PENDING
        assert (old.payload, old.payload_redacted) == (None, REDACTED)
        shown = to_message(old, ApprovalClocks(), T0, full_payload=True)
        assert not shown.payload_full
        assert shown.payload["to"] == "<string:17>"

        # Unanswered at its breach time, it counts as a breach there.
        at_breach = old.requested_at + timedelta(hours=24)
        window = {"period_start": T0, "period_end": at_breach + timedelta(seconds=1)}
        assert await env.store.sla_compliance("acme", **window, now=at_breach) == 0.0
        before = at_breach - timedelta(microseconds=1)
        assert await env.store.sla_compliance("acme", **window, now=before) is None
