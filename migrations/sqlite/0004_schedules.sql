-- Recurring jobs (docs/adr/0004-job-queue.md, "Schedules"). A scheduler fires a schedule by
-- moving next_run_at forward with a compare-and-set UPDATE and enqueueing its job in the same
-- transaction, so with any number of schedulers each firing happens once.
CREATE TABLE schedules (
    id           BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    name         TEXT        NOT NULL UNIQUE,
    cron         TEXT        NOT NULL,
    queue        TEXT        NOT NULL DEFAULT 'default',
    kind         TEXT        NOT NULL,
    payload      TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(payload)),
    enabled      BOOLEAN     NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    next_run_at  TEXT        NOT NULL,
    last_run_at  TEXT        NULL,
    last_job_id  BLOB        NULL,
    created_by   TEXT        NOT NULL DEFAULT 'system',
    created_at   TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at   TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX schedules_due_idx ON schedules (next_run_at) WHERE enabled;

-- Every claim and completion rewrites a job row, and with status changing no update is HOT:
-- each index on jobs costs an insertion per job per state change, which is most of the
-- queue's cost on PostgreSQL (measured with bench/jobs.sh). So jobs keep few indexes:
-- * (status, updated_at) was used by no query: dropped.
-- * Lists go newest first by id (UUIDv7: creation order) on the primary key instead of
--   (created_at, id); tenant-scoped lists use (tenant_id, id), only for tenants' jobs.
-- * Live feeds without Redis and the throughput sparkline read changes in (updated_at, id)
--   order, leaving out running jobs, whose heartbeats would churn the index for nothing.
DROP INDEX jobs_status_updated_idx;
DROP INDEX jobs_created_idx;
DROP INDEX jobs_tenant_created_idx;
CREATE INDEX jobs_tenant_id_idx ON jobs (tenant_id, id) WHERE tenant_id IS NOT NULL;
CREATE INDEX jobs_updated_idx ON jobs (updated_at, id) WHERE status <> 'running';
-- When the running attempt was claimed: the age of running jobs on the queue screens.
ALTER TABLE jobs ADD COLUMN started_at TEXT NULL;
