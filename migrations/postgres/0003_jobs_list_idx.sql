-- Operators list jobs newest first across tenants (`painel jobs list`): keyset on
-- (created_at, id) without sorting the table. Scoped lists use jobs_tenant_created_idx.
CREATE INDEX jobs_created_idx ON jobs (created_at, id);
