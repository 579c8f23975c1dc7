-- DNS at Cloudflare with nameserver verification (docs/adr/0031).
-- * dns_providers: the provider account zones are created in (one row per provider). The API
--   token is sealed at rest like servers' tokens ('dns_providers.api_token_enc', row-bound).
--   resolvers: the DNS servers ("ip" or "ip:port") NS verification asks; empty = the
--   system's. stall_after_secs: a domain pending longer than this joins the failure feed.
-- * domains.ns_stalled_at: when its verification was declared stalled (once).
-- * servers.ipv6: what a hosting service's AAAA record points to.
CREATE TABLE dns_providers (
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    provider         TEXT        NOT NULL UNIQUE CHECK (provider IN ('cloudflare')),
    api_url          TEXT        NOT NULL,
    account_id       TEXT        NOT NULL CHECK (length(account_id) BETWEEN 1 AND 64),
    api_token_enc    BLOB        NULL,
    resolvers        TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(resolvers)),
    stall_after_secs INTEGER     NOT NULL DEFAULT 172800 CHECK (stall_after_secs >= 1),
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

ALTER TABLE domains ADD COLUMN ns_stalled_at TEXT NULL;
ALTER TABLE servers ADD COLUMN ipv6 TEXT NULL;

-- The verification cycle walks the pending domains in check order.
CREATE INDEX domains_ns_pending_idx ON domains (ns_last_checked_at, id) WHERE status = 'pending';
