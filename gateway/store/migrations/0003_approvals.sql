-- Human approvals of policy class B actions: one row per request for a decision about one
-- exact action (tenant, connector, operation, payload digest and, for a compensation, the
-- execution it undoes). Times are RFC 3339 UTC text (gateway.clock), so they compare as text.
--   pending -> granted -> used
--   pending -> granted -> expired   (not used before use_by; resolved_at = use_by)
--   pending -> denied
--   pending -> expired              (nobody answered before expires_at; resolved_at = expires_at)
CREATE TABLE approval_requests (
    approval_id          TEXT PRIMARY KEY,
    tenant               TEXT NOT NULL,
    connector_key        TEXT NOT NULL,
    operation            TEXT NOT NULL,
    payload_digest       TEXT NOT NULL,
    payload_redacted     TEXT NOT NULL DEFAULT '{}',
    execution_id         TEXT NOT NULL DEFAULT '',
    status               TEXT NOT NULL
        CHECK (status IN ('pending', 'granted', 'denied', 'expired', 'used')),
    requested_by         TEXT NOT NULL,
    requested_at         TEXT NOT NULL,
    resolved_by          TEXT NOT NULL DEFAULT '',
    resolved_at          TEXT,
    -- When a person granted or denied it. Unlike resolved_at it is kept when a granted
    -- approval later expires unused, so the SLA of the human response stays measurable.
    decided_at           TEXT,
    reason               TEXT NOT NULL DEFAULT '',
    expires_at           TEXT NOT NULL,
    use_by               TEXT,
    used_by_execution_id TEXT NOT NULL DEFAULT '',
    used_at              TEXT,
    -- 1 once the expiry is in the audit trail, however the expiry was noticed.
    expiry_recorded      INTEGER NOT NULL DEFAULT 0
);
-- Listing a tenant's approvals by status, newest first.
CREATE INDEX approval_requests_tenant_status ON approval_requests (tenant, status, requested_at);
-- Listing all of a tenant's approvals, newest first.
CREATE INDEX approval_requests_tenant_time ON approval_requests (tenant, requested_at);
-- Finding the pending request for the same action (find-or-create on Execute).
CREATE INDEX approval_requests_action ON approval_requests
    (tenant, connector_key, operation, payload_digest, execution_id, status);
-- The expiry sweep: pending past expires_at, granted past use_by.
CREATE INDEX approval_requests_status_expiry ON approval_requests (status, expires_at);
