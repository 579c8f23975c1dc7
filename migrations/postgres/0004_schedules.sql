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

-- Live feeds without Redis read job changes in change order (`jobs watch`, queue screens),
-- and the throughput sparkline reads recently finished jobs through it. It replaces
-- (status, updated_at), which no query used: every claim and completion changes status, so
-- each index on jobs costs an insertion per job and per state change (no HOT updates).
CREATE INDEX jobs_updated_idx ON jobs (updated_at, id);
DROP INDEX jobs_status_updated_idx;
-- When the running attempt was claimed: the age of running jobs on the queue screens.
ALTER TABLE jobs ADD COLUMN started_at timestamptz NULL;
