-- Room on each page of jobs for the next versions of its rows (docs/adr/0004-job-queue.md,
-- "Under load, second pass"). A job's row is updated at least twice (claim, completion) and
-- no update can be HOT (status is in partial-index predicates; lease_until and updated_at
-- are indexed). On a full page the new version goes to another page, and heap_update first
-- WAL-logs a lock on the old version: measured, 5.0 WAL records per claimed job and 3.9 per
-- completed one on packed pages; 4.1 and 3.05 (and a fifth less WAL) with fillfactor 40, the
-- new version next to the old one. Applies to rows inserted from now on.
ALTER TABLE jobs SET (fillfactor = 40);
