-- Sort-key bounds per trigram for the tenants list's text filter (docs/adr/0003): for every
-- trigram of any tenant's search text, the least and greatest name, domain, status, tier and
-- created_at among the tenants holding it. Every tenant containing a term holds all of the
-- term's trigrams, so its sort key lies between the greatest of their minimums and the least
-- of their maximums: the list walks its sort index from there, and a term clustered late in
-- the order ('nuvem' after every 'alpha…') finds its page in the first rows walked.
-- Bounds only widen (a rename or delete leaves them looser, never wrong).

-- Trigger bodies cannot use a recursive CTE: the trigram positions come from this table.
CREATE TABLE tenant_search_positions (i INTEGER PRIMARY KEY);
INSERT INTO tenant_search_positions (i)
WITH RECURSIVE k(i) AS (SELECT 1 UNION ALL SELECT i + 1 FROM k WHERE i < 4096)
SELECT i FROM k;

CREATE TABLE tenant_search_bounds (
    trigram     TEXT NOT NULL PRIMARY KEY,
    name_min    TEXT NOT NULL,
    name_max    TEXT NOT NULL,
    domain_min  TEXT NOT NULL,
    domain_max  TEXT NOT NULL,
    status_min  TEXT NOT NULL,
    status_max  TEXT NOT NULL,
    tier_min    TEXT NOT NULL,
    tier_max    TEXT NOT NULL,
    created_min TEXT NOT NULL,
    created_max TEXT NOT NULL
) WITHOUT ROWID;

INSERT INTO tenant_search_bounds
SELECT lower(substr(t.search_text, p.i, 3)), min(t.name), max(t.name), min(t.domain), max(t.domain),
       min(t.status), max(t.status), min(t.tier), max(t.tier), min(t.created_at), max(t.created_at)
  FROM tenants t JOIN tenant_search_positions p ON p.i <= length(t.search_text) - 2
 GROUP BY 1;

-- Widens the bounds of the new row's trigrams, writing only those it moves. A search text
-- longer than the positions table would leave trigrams without bounds: refused.
CREATE TRIGGER tenants_search_bounds_after_insert AFTER INSERT ON tenants BEGIN
    SELECT RAISE(ABORT, 'search text longer than 4098 characters') WHERE length(new.search_text) > 4098;
    INSERT INTO tenant_search_bounds
    SELECT n.trigram, new.name, new.name, new.domain, new.domain, new.status, new.status,
           new.tier, new.tier, new.created_at, new.created_at
      FROM (SELECT DISTINCT lower(substr(new.search_text, i, 3)) AS trigram
              FROM tenant_search_positions WHERE i <= length(new.search_text) - 2) n
      LEFT JOIN tenant_search_bounds b ON b.trigram = n.trigram
     WHERE b.trigram IS NULL
        OR new.name < b.name_min OR new.name > b.name_max
        OR new.domain < b.domain_min OR new.domain > b.domain_max
        OR new.status < b.status_min OR new.status > b.status_max
        OR new.tier < b.tier_min OR new.tier > b.tier_max
        OR new.created_at < b.created_min OR new.created_at > b.created_max
    ON CONFLICT (trigram) DO UPDATE SET
        name_min = min(name_min, excluded.name_min), name_max = max(name_max, excluded.name_max),
        domain_min = min(domain_min, excluded.domain_min), domain_max = max(domain_max, excluded.domain_max),
        status_min = min(status_min, excluded.status_min), status_max = max(status_max, excluded.status_max),
        tier_min = min(tier_min, excluded.tier_min), tier_max = max(tier_max, excluded.tier_max),
        created_min = min(created_min, excluded.created_min), created_max = max(created_max, excluded.created_max);
END;

CREATE TRIGGER tenants_search_bounds_after_update
AFTER UPDATE OF search_text, name, domain, status, tier, created_at ON tenants BEGIN
    SELECT RAISE(ABORT, 'search text longer than 4098 characters') WHERE length(new.search_text) > 4098;
    INSERT INTO tenant_search_bounds
    SELECT n.trigram, new.name, new.name, new.domain, new.domain, new.status, new.status,
           new.tier, new.tier, new.created_at, new.created_at
      FROM (SELECT DISTINCT lower(substr(new.search_text, i, 3)) AS trigram
              FROM tenant_search_positions WHERE i <= length(new.search_text) - 2) n
      LEFT JOIN tenant_search_bounds b ON b.trigram = n.trigram
     WHERE b.trigram IS NULL
        OR new.name < b.name_min OR new.name > b.name_max
        OR new.domain < b.domain_min OR new.domain > b.domain_max
        OR new.status < b.status_min OR new.status > b.status_max
        OR new.tier < b.tier_min OR new.tier > b.tier_max
        OR new.created_at < b.created_min OR new.created_at > b.created_max
    ON CONFLICT (trigram) DO UPDATE SET
        name_min = min(name_min, excluded.name_min), name_max = max(name_max, excluded.name_max),
        domain_min = min(domain_min, excluded.domain_min), domain_max = max(domain_max, excluded.domain_max),
        status_min = min(status_min, excluded.status_min), status_max = max(status_max, excluded.status_max),
        tier_min = min(tier_min, excluded.tier_min), tier_max = max(tier_max, excluded.tier_max),
        created_min = min(created_min, excluded.created_min), created_max = max(created_max, excluded.created_max);
END;
