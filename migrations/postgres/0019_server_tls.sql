-- How painel reaches a WHM server (docs/adr/0019-whm-client.md).
-- * tls_mode: 'verify' = the public web PKI (default); 'pin' = accept exactly the leaf
--   certificate whose SHA-256 is tls_pin_sha256 (64 lower-case hex digits); 'trust' = accept
--   any certificate. A self-signed :2087 needs 'pin' or 'trust': an explicit, audited choice.
-- * api_timeout_ms: the budget of one ordinary WHM call (createacct/removeacct get 6×).
ALTER TABLE servers ADD COLUMN tls_mode text NOT NULL DEFAULT 'verify'
    CHECK (tls_mode IN ('verify', 'pin', 'trust'));
ALTER TABLE servers ADD COLUMN tls_pin_sha256 text NULL
    CHECK (tls_pin_sha256 IS NULL OR tls_pin_sha256 ~ '^[0-9a-f]{64}$');
ALTER TABLE servers ADD COLUMN api_timeout_ms bigint NOT NULL DEFAULT 30000
    CHECK (api_timeout_ms BETWEEN 1000 AND 600000);
ALTER TABLE servers ADD CONSTRAINT servers_tls_pin_matches_mode
    CHECK ((tls_mode = 'pin') = (tls_pin_sha256 IS NOT NULL));
