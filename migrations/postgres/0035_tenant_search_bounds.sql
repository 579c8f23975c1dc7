-- Sort-key bounds per trigram for the tenants list's text filter (docs/adr/0003): for every
-- trigram of any tenant's search text, the least and greatest name, domain, status, tier and
-- created_at among the tenants holding it. Every tenant containing a term holds all of the
-- term's trigrams, so its sort key lies between the greatest of their minimums and the least
-- of their maximums: the list walks its sort index from there, and a term clustered late in
-- the order ('nuvem' after every 'alpha…') finds its page in the first rows walked.
-- Bounds only widen (a rename or delete leaves them looser, never wrong). No row-level
-- security: only the unscoped (operator) list reads it, and a bound over rows a reader cannot
-- see is still a bound.

CREATE TABLE tenant_search_bounds (
    trigram     text        NOT NULL PRIMARY KEY,
    name_min    text        NOT NULL,
    name_max    text        NOT NULL,
    domain_min  text        NOT NULL,
    domain_max  text        NOT NULL,
    status_min  text        NOT NULL,
    status_max  text        NOT NULL,
    tier_min    text        NOT NULL,
    tier_max    text        NOT NULL,
    created_min timestamptz NOT NULL,
    created_max timestamptz NOT NULL
);

INSERT INTO tenant_search_bounds
SELECT lower(substr(t.search_text, i, 3)), min(t.name), max(t.name), min(t.domain), max(t.domain),
       min(t.status), max(t.status), min(t.tier), max(t.tier), min(t.created_at), max(t.created_at)
  FROM tenants t, generate_series(1, char_length(t.search_text) - 2) AS i
 GROUP BY 1;

-- Widens the bounds of the new row's trigrams, writing (and locking) only those it moves, in
-- trigram order.
CREATE FUNCTION tenant_search_bounds_widen() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    INSERT INTO tenant_search_bounds AS b
    SELECT n.trigram, NEW.name, NEW.name, NEW.domain, NEW.domain, NEW.status, NEW.status,
           NEW.tier, NEW.tier, NEW.created_at, NEW.created_at
      FROM (SELECT DISTINCT lower(substr(NEW.search_text, i, 3)) AS trigram
              FROM generate_series(1, char_length(NEW.search_text) - 2) AS i) n
      LEFT JOIN tenant_search_bounds o ON o.trigram = n.trigram
     WHERE o.trigram IS NULL
        OR NEW.name < o.name_min OR NEW.name > o.name_max
        OR NEW.domain < o.domain_min OR NEW.domain > o.domain_max
        OR NEW.status < o.status_min OR NEW.status > o.status_max
        OR NEW.tier < o.tier_min OR NEW.tier > o.tier_max
        OR NEW.created_at < o.created_min OR NEW.created_at > o.created_max
     ORDER BY n.trigram
    ON CONFLICT (trigram) DO UPDATE SET
        name_min = LEAST(b.name_min, EXCLUDED.name_min), name_max = GREATEST(b.name_max, EXCLUDED.name_max),
        domain_min = LEAST(b.domain_min, EXCLUDED.domain_min), domain_max = GREATEST(b.domain_max, EXCLUDED.domain_max),
        status_min = LEAST(b.status_min, EXCLUDED.status_min), status_max = GREATEST(b.status_max, EXCLUDED.status_max),
        tier_min = LEAST(b.tier_min, EXCLUDED.tier_min), tier_max = GREATEST(b.tier_max, EXCLUDED.tier_max),
        created_min = LEAST(b.created_min, EXCLUDED.created_min), created_max = GREATEST(b.created_max, EXCLUDED.created_max);
    RETURN NULL;
END $$;

CREATE TRIGGER tenants_search_bounds AFTER INSERT OR UPDATE OF name, domain, status, tier, created_at, search_text
ON tenants FOR EACH ROW EXECUTE FUNCTION tenant_search_bounds_widen();
