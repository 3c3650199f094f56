-- One record per tenant and idempotency key: the first final answer, replayed to repeats.
CREATE TABLE idempotency_records (
    tenant          TEXT NOT NULL,
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    connector_key   TEXT NOT NULL,
    operation       TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    state           TEXT NOT NULL,
    owner           TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    expires_at      TEXT NOT NULL,
    PRIMARY KEY (tenant, idempotency_key)
);
CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at);
CREATE INDEX idempotency_records_state ON idempotency_records (state);
ALTER TABLE executions ADD COLUMN compensated_at TEXT;
