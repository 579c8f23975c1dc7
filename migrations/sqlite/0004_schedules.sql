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

-- Live feeds without Redis read job changes in change order (`jobs watch`, queue screens),
-- and the throughput sparkline reads recently finished jobs through it. It replaces
-- (status, updated_at), which no query used: every claim and completion changes status, so
-- each index on jobs costs an insertion per job and per state change (no HOT updates).
CREATE INDEX jobs_updated_idx ON jobs (updated_at, id);
DROP INDEX jobs_status_updated_idx;
-- When the running attempt was claimed: the age of running jobs on the queue screens.
ALTER TABLE jobs ADD COLUMN started_at TEXT NULL;
