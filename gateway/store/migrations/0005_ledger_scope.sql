-- Idempotency keys belong to the caller that chose them: two agents of one tenant using the
-- same key never see each other's executions. A compensation's key ('compensation <id>') is
-- tenant-wide (scope ''), so an execution is undone at most once whoever asks.
CREATE TABLE idempotency_records_scoped (
    tenant          TEXT NOT NULL,
    scope           TEXT NOT NULL,  -- the caller whose key it is; '' tenant-wide
    idempotency_key TEXT NOT NULL,
    fingerprint     TEXT NOT NULL,
    connector_key   TEXT NOT NULL,
    operation       TEXT NOT NULL,
    execution_id    TEXT NOT NULL,
    state           TEXT NOT NULL,
    owner           TEXT NOT NULL,
    outcome         TEXT NOT NULL DEFAULT '',
    created_at      TEXT NOT NULL,
    -- Ignored while the state is 'in_flight' or 'unknown': such a key never expires.
    expires_at      TEXT NOT NULL,
    PRIMARY KEY (tenant, scope, idempotency_key)
);
INSERT INTO idempotency_records_scoped
SELECT r.tenant,
       CASE WHEN r.idempotency_key LIKE 'compensation %' THEN '' ELSE COALESCE(e.caller, '') END,
       r.idempotency_key, r.fingerprint, r.connector_key, r.operation, r.execution_id, r.state,
       r.owner, r.outcome, r.created_at, r.expires_at
FROM idempotency_records r LEFT JOIN executions e ON e.execution_id = r.execution_id;
DROP TABLE idempotency_records;
ALTER TABLE idempotency_records_scoped RENAME TO idempotency_records;
CREATE INDEX idempotency_records_expiry ON idempotency_records (expires_at);
CREATE INDEX idempotency_records_state ON idempotency_records (state);
CREATE INDEX idempotency_records_execution ON idempotency_records (execution_id);

-- The answer of an execution's compensation, kept with the execution itself: once an
-- execution is compensated, every later Compensate replays this, forever.
ALTER TABLE executions ADD COLUMN compensation TEXT NOT NULL DEFAULT '';
-- What an operator wrote when resolving an unknown outcome (the result holds the vendor's ids).
ALTER TABLE executions ADD COLUMN resolution_note TEXT NOT NULL DEFAULT '';
CREATE INDEX executions_finished ON executions (status, finished_at);

-- Gateway processes sharing this database, each holding a lease it renews. A call in flight
-- under an owner whose lease has lapsed (or, on the same host, whose process is gone) is of
-- unknown outcome; one under a live owner is not.
CREATE TABLE gateway_instances (
    instance_id TEXT PRIMARY KEY,
    host        TEXT NOT NULL,
    pid         INTEGER NOT NULL,
    started_at  TEXT NOT NULL,
    lease_until TEXT NOT NULL
);
