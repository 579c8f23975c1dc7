-- How painel reaches a WHM server (docs/adr/0019-whm-client.md).
-- * tls_mode: 'verify' = the public web PKI (default); 'pin' = accept exactly the leaf
--   certificate whose SHA-256 is tls_pin_sha256 (64 lower-case hex digits); 'trust' = accept
--   any certificate. A self-signed :2087 needs 'pin' or 'trust': an explicit, audited choice.
-- * api_timeout_ms: the budget of one ordinary WHM call (createacct/removeacct get 6×).
ALTER TABLE servers ADD COLUMN tls_mode TEXT NOT NULL DEFAULT 'verify'
    CHECK (tls_mode IN ('verify', 'pin', 'trust'));
ALTER TABLE servers ADD COLUMN tls_pin_sha256 TEXT NULL
    CHECK (tls_pin_sha256 IS NULL
           OR (length(tls_pin_sha256) = 64 AND tls_pin_sha256 NOT GLOB '*[^0-9a-f]*'));
ALTER TABLE servers ADD COLUMN api_timeout_ms INTEGER NOT NULL DEFAULT 30000
    CHECK (api_timeout_ms BETWEEN 1000 AND 600000);

-- A pin exactly when the mode is 'pin' (SQLite cannot add a table constraint to an existing
-- table: triggers say it instead).
CREATE TRIGGER servers_tls_pin_insert BEFORE INSERT ON servers
    WHEN (NEW.tls_mode = 'pin') <> (NEW.tls_pin_sha256 IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: servers_tls_pin_matches_mode');
END;
CREATE TRIGGER servers_tls_pin_update BEFORE UPDATE OF tls_mode, tls_pin_sha256 ON servers
    WHEN (NEW.tls_mode = 'pin') <> (NEW.tls_pin_sha256 IS NOT NULL)
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: servers_tls_pin_matches_mode');
END;
