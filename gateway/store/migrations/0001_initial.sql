-- Append-only, hash-chained audit trail. Rows are never updated or deleted by the gateway.
CREATE TABLE audit_events (
    seq             INTEGER PRIMARY KEY,
    event_id        TEXT NOT NULL UNIQUE,
    occurred_at     TEXT NOT NULL,
    event_type      TEXT NOT NULL,
    tenant          TEXT NOT NULL,
    caller          TEXT NOT NULL,
    rpc_method      TEXT NOT NULL,
    connector_key   TEXT NOT NULL,
    operation       TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload_digest  TEXT NOT NULL,
    payload_redacted TEXT NOT NULL,
    outcome         TEXT NOT NULL,
    status_code     TEXT NOT NULL,
    reason          TEXT NOT NULL,
    attempts        INTEGER NOT NULL,
    latency_ms      REAL NOT NULL,
    trace_id        TEXT NOT NULL,
    detail          TEXT NOT NULL,
    prev_hash       TEXT NOT NULL,
    row_hash        TEXT NOT NULL
);
CREATE INDEX audit_events_tenant_time ON audit_events (tenant, occurred_at);
CREATE INDEX audit_events_execution ON audit_events (execution_id);

-- Periodic HMAC of the chain head, so that a rewritten chain or a cut tail is detected.
CREATE TABLE audit_anchors (
    anchor_seq  INTEGER PRIMARY KEY,
    event_seq   INTEGER NOT NULL,
    row_hash    TEXT NOT NULL,
    anchored_at TEXT NOT NULL,
    mac         TEXT NOT NULL
);

-- What the health board shows per connector.
CREATE TABLE integration_sync_states (
    tenant               TEXT NOT NULL,
    connector_key        TEXT NOT NULL,
    status               TEXT NOT NULL,
    last_success_at      TEXT,
    last_attempt_at      TEXT,
    last_error           TEXT NOT NULL DEFAULT '',
    consecutive_failures INTEGER NOT NULL DEFAULT 0,
    updated_at           TEXT NOT NULL,
    PRIMARY KEY (tenant, connector_key)
);

-- Every execution that reached a vendor, with what its compensation needs.
CREATE TABLE executions (
    execution_id    TEXT PRIMARY KEY,
    tenant          TEXT NOT NULL,
    caller          TEXT NOT NULL,
    connector_key   TEXT NOT NULL,
    operation       TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    payload_digest  TEXT NOT NULL,
    status          TEXT NOT NULL,
    result          TEXT NOT NULL DEFAULT '{}',
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL,
    finished_at     TEXT
);
CREATE INDEX executions_tenant_status ON executions (tenant, status);
