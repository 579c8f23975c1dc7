-- Recurring jobs (docs/adr/0004-job-queue.md, "Schedules"). A scheduler fires a schedule by
-- moving next_run_at forward with a compare-and-set UPDATE and enqueueing its job in the same
-- transaction, so with any number of schedulers each firing happens once.
CREATE TABLE schedules (
    id           uuid        NOT NULL PRIMARY KEY,
    name         text        NOT NULL UNIQUE,
    cron         text        NOT NULL,
    queue        text        NOT NULL DEFAULT 'default',
    kind         text        NOT NULL,
    payload      jsonb       NOT NULL DEFAULT '{}',
    enabled      boolean     NOT NULL DEFAULT true,
    next_run_at  timestamptz NOT NULL,
    last_run_at  timestamptz NULL,
    last_job_id  uuid        NULL,
    created_by   text        NOT NULL DEFAULT 'system',
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
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
ALTER TABLE jobs ADD COLUMN started_at timestamptz NULL;
