-- Service lifecycle on WHM (docs/adr/0021-service-lifecycle.md).
-- * plans.region: where a plan's accounts are placed ('' = any region).
-- * plan_packages: what the last package push or sync saw on each server for each plan —
--   'synced', 'missing' (no such package), 'different' (limits differ; detail says which),
--   'pending' (a push is queued). One row per (plan, server), rewritten by each check.
-- * One open job-raised incident per server: concurrent failures of many services of one
--   server insert with ON CONFLICT DO NOTHING against this index, so they open it once.
-- * services_server_status_idx: the failure count per server behind that incident.
ALTER TABLE plans ADD COLUMN region text NOT NULL DEFAULT '';

CREATE TABLE plan_packages (
    id         uuid        NOT NULL PRIMARY KEY,
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    plan_id    uuid        NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    server_id  uuid        NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    package    text        NOT NULL,
    state      text        NOT NULL CHECK (state IN ('synced', 'missing', 'different', 'pending')),
    detail     text        NOT NULL DEFAULT '',
    checked_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (plan_id, server_id)
);
CREATE INDEX plan_packages_tenant_idx ON plan_packages (tenant_id, state);
CREATE INDEX plan_packages_server_idx ON plan_packages (server_id);
ALTER TABLE plan_packages ENABLE ROW LEVEL SECURITY;
ALTER TABLE plan_packages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plan_packages USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));

CREATE UNIQUE INDEX incidents_server_job_open_uq ON incidents (server_id)
    WHERE source = 'job' AND status <> 'resolved' AND server_id IS NOT NULL;
CREATE INDEX services_server_status_idx ON services (server_id, status, updated_at);
