-- Unique job keys are per tenant (docs/adr/0014): a tenant's key can no longer squat a
-- platform job's (`schedule:jobs.cleanup`) or another tenant's. Platform jobs (tenant_id
-- NULL) share one namespace: NULL is folded to an empty blob, because a unique index treats
-- NULLs as distinct. enqueue's ON CONFLICT names this expression and predicate.
DROP INDEX jobs_unique_key_uq;
CREATE UNIQUE INDEX jobs_unique_key_uq
    ON jobs (IFNULL(tenant_id, X''), unique_key)
    WHERE status IN ('queued', 'running');
