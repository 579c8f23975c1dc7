-- Nothing to add: PostgreSQL serves tenant substring search from the pg_trgm GIN index on
-- tenants.search_text created in 0001. This file keeps the two migration histories in step
-- (SQLite's 0002 builds its FTS5 trigram index).
SELECT 1;
