-- The sort-key bounds of 0035 (docs/adr/0003) are widened once per INSERT statement instead of
-- once per inserted row. Per row, a multi-row insert of tenants created in date order widened
-- every trigram of every row (each new created_at passes every maximum): ~60 upserts a row,
-- the same few thousand rows of tenant_search_bounds updated over and over — seeding 100k
-- tenants took over 6 minutes instead of 13 s. Per statement, the inserted rows' trigrams are
-- grouped first, so each trigram is written at most once a statement, and always in trigram
-- order: two concurrent multi-row inserts lock shared trigrams in the same order (no
-- deadlock). Updates stay per row (a tenant is updated one at a time, and PostgreSQL allows
-- no transition table on a trigger with a column list).

DROP TRIGGER tenants_search_bounds ON tenants;

CREATE FUNCTION tenant_search_bounds_widen_inserted() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_search_bounds AS b
    SELECT n.trigram, n.name_min, n.name_max, n.domain_min, n.domain_max, n.status_min, n.status_max,
           n.tier_min, n.tier_max, n.created_min, n.created_max
      FROM (SELECT lower(substr(t.search_text, i, 3)) AS trigram,
                   min(t.name) AS name_min, max(t.name) AS name_max,
                   min(t.domain) AS domain_min, max(t.domain) AS domain_max,
                   min(t.status) AS status_min, max(t.status) AS status_max,
                   min(t.tier) AS tier_min, max(t.tier) AS tier_max,
                   min(t.created_at) AS created_min, max(t.created_at) AS created_max
              FROM inserted t, generate_series(1, char_length(t.search_text) - 2) AS i
             GROUP BY 1) n
      LEFT JOIN tenant_search_bounds o ON o.trigram = n.trigram
     WHERE o.trigram IS NULL
        OR n.name_min < o.name_min OR n.name_max > o.name_max
        OR n.domain_min < o.domain_min OR n.domain_max > o.domain_max
        OR n.status_min < o.status_min OR n.status_max > o.status_max
        OR n.tier_min < o.tier_min OR n.tier_max > o.tier_max
        OR n.created_min < o.created_min OR n.created_max > o.created_max
     ORDER BY n.trigram
    ON CONFLICT (trigram) DO UPDATE SET
        name_min = LEAST(b.name_min, EXCLUDED.name_min), name_max = GREATEST(b.name_max, EXCLUDED.name_max),
        domain_min = LEAST(b.domain_min, EXCLUDED.domain_min), domain_max = GREATEST(b.domain_max, EXCLUDED.domain_max),
        status_min = LEAST(b.status_min, EXCLUDED.status_min), status_max = GREATEST(b.status_max, EXCLUDED.status_max),
        tier_min = LEAST(b.tier_min, EXCLUDED.tier_min), tier_max = GREATEST(b.tier_max, EXCLUDED.tier_max),
        created_min = LEAST(b.created_min, EXCLUDED.created_min), created_max = GREATEST(b.created_max, EXCLUDED.created_max);
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_search_bounds_insert AFTER INSERT ON tenants
REFERENCING NEW TABLE AS inserted FOR EACH STATEMENT EXECUTE FUNCTION tenant_search_bounds_widen_inserted();

CREATE TRIGGER tenants_search_bounds AFTER UPDATE OF name, domain, status, tier, created_at, search_text
ON tenants FOR EACH ROW EXECUTE FUNCTION tenant_search_bounds_widen();
