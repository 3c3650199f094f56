-- Approvals: the full payload the tenant's operators approve, each request's SLA breach time,
-- and indexes that keep every approval query bounded (per-caller cap, keyset pages, the SLA
-- aggregate, pruning). Executions: an index for keyset pages.
--
-- The validated payload the approval is bound to (payload_digest is its digest), shown in full
-- only to the tenant's operators; NULL for requests stored before it was kept.
ALTER TABLE approval_requests ADD COLUMN payload TEXT;
-- requested_at + approvals.sla_breach_s as configured when the request was made. Requests
-- stored before this column existed get the default, 24 h. Same text format as every time
-- (gateway.clock): the whole seconds move and the microseconds are kept, so it compares as text.
ALTER TABLE approval_requests ADD COLUMN sla_breach_at TEXT NOT NULL DEFAULT '';
UPDATE approval_requests SET sla_breach_at =
    strftime('%Y-%m-%dT%H:%M:%S', substr(requested_at, 1, 19), '+86400 seconds')
    || substr(requested_at, 20);
-- A caller's unexpired pending requests (at most approvals.max_pending_per_caller): the cap
-- counts them, and find-or-create looks for the same action among them.
DROP INDEX approval_requests_action;
CREATE INDEX approval_requests_requester ON approval_requests
    (tenant, requested_by, status, expires_at);
-- Pages of a tenant's approvals, newest first, with and without a status filter: the keyset is
-- (requested_at, approval_id).
DROP INDEX approval_requests_tenant_status;
DROP INDEX approval_requests_tenant_time;
CREATE INDEX approval_requests_page_by_status ON approval_requests
    (tenant, status, requested_at, approval_id);
CREATE INDEX approval_requests_page ON approval_requests (tenant, requested_at, approval_id);
-- The SLA figure: answers in a period, and breach times in a period.
CREATE INDEX approval_requests_decided ON approval_requests (tenant, decided_at);
CREATE INDEX approval_requests_breach ON approval_requests (tenant, sla_breach_at);
-- Pruning settled approvals by age.
CREATE INDEX approval_requests_settled ON approval_requests (status, resolved_at);
-- Pages of a tenant's executions, newest first: the keyset is (created_at, execution_id).
CREATE INDEX executions_page ON executions (tenant, created_at, execution_id);
CREATE INDEX executions_page_by_status ON executions (tenant, status, created_at, execution_id);
-- The sweep's expiries not yet in the audit trail, without reading every expired row kept.
CREATE INDEX approval_requests_unrecorded ON approval_requests (status) WHERE expiry_recorded = 0;
