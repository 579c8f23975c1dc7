-- Service lifecycle on WHM (docs/adr/0021-service-lifecycle.md); see the PostgreSQL file.
ALTER TABLE plans ADD COLUMN region TEXT NOT NULL DEFAULT '';

CREATE TABLE plan_packages (
    id         BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id  BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    plan_id    BLOB        NOT NULL REFERENCES plans (id) ON DELETE CASCADE,
    server_id  BLOB        NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    package    TEXT        NOT NULL,
    state      TEXT        NOT NULL CHECK (state IN ('synced', 'missing', 'different', 'pending')),
    detail     TEXT        NOT NULL DEFAULT '',
    checked_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (plan_id, server_id)
);
CREATE INDEX plan_packages_tenant_idx ON plan_packages (tenant_id, state);
CREATE INDEX plan_packages_server_idx ON plan_packages (server_id);

CREATE UNIQUE INDEX incidents_server_job_open_uq ON incidents (server_id)
    WHERE source = 'job' AND status <> 'resolved' AND server_id IS NOT NULL;
CREATE INDEX services_server_status_idx ON services (server_id, status, updated_at);
