-- Tenant substring search is served by the pg_trgm GIN index on tenants.search_text (0001).
-- The sort indexes also carry search_text (INCLUDE), so the first, bounded walk of a filtered
-- list can be an index-only scan that fetches only the rows that match (backend/src/tenants.rs).
-- SQLite's 0002 builds its FTS5 trigram index and the same covering indexes.
DROP INDEX tenants_name_idx;
DROP INDEX tenants_created_idx;
DROP INDEX tenants_status_name_idx;
DROP INDEX tenants_domain_idx;
DROP INDEX tenants_tier_name_idx;
CREATE INDEX tenants_name_idx        ON tenants (name, id) INCLUDE (search_text);
CREATE INDEX tenants_created_idx     ON tenants (created_at, id) INCLUDE (search_text);
CREATE INDEX tenants_status_name_idx ON tenants (status, name, id) INCLUDE (search_text);
CREATE INDEX tenants_domain_idx      ON tenants (domain, id) INCLUDE (search_text);
CREATE INDEX tenants_tier_name_idx   ON tenants (tier, name, id) INCLUDE (search_text);
