-- Keyed audit chain and registered master keys (docs/adr/0013). The audit-head function
-- hardened on PostgreSQL in its 0012 has no SQLite counterpart (no row-level security).

ALTER TABLE audit_log ADD COLUMN key_id TEXT NULL;

CREATE TABLE master_keys (
    key_id        TEXT NOT NULL PRIMARY KEY
                       CHECK (length(key_id) = 8 AND key_id NOT GLOB '*[^0-9a-f]*'),
    check_value   TEXT NOT NULL
                       CHECK (length(check_value) = 32 AND check_value NOT GLOB '*[^0-9a-f]*'),
    registered_at TEXT NOT NULL,
    retired_at    TEXT NULL
);
