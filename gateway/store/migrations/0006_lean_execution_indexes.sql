-- Every reservation and every answer updates each index of executions. (tenant, status) is a
-- prefix of executions_page_by_status, which serves every query that used it.
DROP INDEX IF EXISTS executions_tenant_status;
