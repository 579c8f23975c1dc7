-- Indexes that stay out of the queue's hot path (docs/adr/0004-job-queue.md, "Under load").
-- * jobs_lease_idx covered `status = 'running'`. Every completion, heartbeat and release
--   says `status = 'running' AND id IN (…)`, so the planner could (and, with a generic plan
--   and statistics taken while nothing ran, did) walk the whole lease index and test each
--   entry against the id list, instead of probing the primary key: completion writes of a
--   second each, the collapse bench/jobs.sh saw at concurrency 50. Keyed on the lease being
--   set, the index serves only the reclaim sweep (`lease_until < now` implies it); a lease
--   is set exactly while a job runs.
-- * jobs_unique_key_uq held an entry for every queued and running job, unique key or not:
--   two index insertions per job for nothing. Only keyed jobs go in now; enqueue's ON
--   CONFLICT names the same predicate.
DROP INDEX jobs_lease_idx;
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE lease_until IS NOT NULL;
DROP INDEX jobs_unique_key_uq;
CREATE UNIQUE INDEX jobs_unique_key_uq
    ON jobs (IFNULL(tenant_id, X''), unique_key)
    WHERE status IN ('queued', 'running') AND unique_key IS NOT NULL;
