-- Unique job keys are per tenant (docs/adr/0014): a tenant's key can no longer squat a
-- platform job's (`schedule:jobs.cleanup`) or another tenant's. Platform jobs (tenant_id
-- NULL) share one namespace: NULL is folded to the nil uuid, because a unique index treats
-- NULLs as distinct. enqueue's ON CONFLICT names this expression and predicate.
DROP INDEX jobs_unique_key_uq;
CREATE UNIQUE INDEX jobs_unique_key_uq
    ON jobs ((COALESCE(tenant_id, '00000000-0000-0000-0000-000000000000'::uuid)), unique_key)
    WHERE status IN ('queued', 'running');
