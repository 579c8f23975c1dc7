-- Substring search over tenants.search_text through an FTS5 trigram index, so a narrow
-- filter ("nuvem") finds its rows without walking 100k of them (see backend/src/search.rs).
-- FTS5 needs a stable integer rowid; tenants' own rowid is not (its key is a uuid, and VACUUM
-- may renumber implicit rowids), so tenant_search gives each tenant an INTEGER PRIMARY KEY.
-- These are engine-specific index structures, like the pg_trgm index on PostgreSQL, and are
-- left out of the schema parity test.

CREATE TABLE tenant_search (
    n           INTEGER PRIMARY KEY,
    tenant_id   BLOB    NOT NULL UNIQUE,
    search_text TEXT    NOT NULL
);

CREATE VIRTUAL TABLE tenant_search_fts USING fts5 (
    search_text,
    content = 'tenant_search',
    content_rowid = 'n',
    tokenize = 'trigram'
);

CREATE TRIGGER tenant_search_after_insert AFTER INSERT ON tenant_search BEGIN
    INSERT INTO tenant_search_fts (rowid, search_text) VALUES (new.n, new.search_text);
END;

CREATE TRIGGER tenant_search_after_delete AFTER DELETE ON tenant_search BEGIN
    INSERT INTO tenant_search_fts (tenant_search_fts, rowid, search_text) VALUES ('delete', old.n, old.search_text);
END;

CREATE TRIGGER tenant_search_after_update AFTER UPDATE ON tenant_search BEGIN
    INSERT INTO tenant_search_fts (tenant_search_fts, rowid, search_text) VALUES ('delete', old.n, old.search_text);
    INSERT INTO tenant_search_fts (rowid, search_text) VALUES (new.n, new.search_text);
END;

CREATE TRIGGER tenants_search_after_insert AFTER INSERT ON tenants BEGIN
    INSERT INTO tenant_search (tenant_id, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER tenants_search_after_update AFTER UPDATE OF search_text ON tenants BEGIN
    UPDATE tenant_search SET search_text = new.search_text WHERE tenant_id = new.id;
END;

CREATE TRIGGER tenants_search_after_delete AFTER DELETE ON tenants BEGIN
    DELETE FROM tenant_search WHERE tenant_id = old.id;
END;

INSERT INTO tenant_search (tenant_id, search_text) SELECT id, search_text FROM tenants;

-- The sort indexes also carry search_text, so the first, bounded walk of a filtered list reads
-- the index alone and fetches only the rows that match (see backend/src/tenants.rs).
DROP INDEX tenants_name_idx;
DROP INDEX tenants_created_idx;
DROP INDEX tenants_status_name_idx;
DROP INDEX tenants_domain_idx;
DROP INDEX tenants_tier_name_idx;
CREATE INDEX tenants_name_idx        ON tenants (name, id, search_text);
CREATE INDEX tenants_created_idx     ON tenants (created_at, id, search_text);
CREATE INDEX tenants_status_name_idx ON tenants (status, name, id, search_text);
CREATE INDEX tenants_domain_idx      ON tenants (domain, id, search_text);
CREATE INDEX tenants_tier_name_idx   ON tenants (tier, name, id, search_text);
