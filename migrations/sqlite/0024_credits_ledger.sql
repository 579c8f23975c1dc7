-- The reseller credits ledger (docs/adr/0024): double-entry. An account holds one balance in
-- one currency; a movement is one business event; its entries (>= 2) sum to zero per
-- currency. Entries and movements are append-only; the balance on the account row is the
-- running total that the guarded UPDATE and the CHECK keep above -credit_limit.
CREATE TABLE credit_accounts (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            TEXT        NOT NULL CHECK (kind IN ('reseller', 'sales', 'commissions', 'purchases')),
    user_id         BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    currency        TEXT        NOT NULL CHECK (length(currency) = 3),
    balance         INTEGER     NOT NULL DEFAULT 0,
    credit_limit    INTEGER     NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    alert_threshold INTEGER     NULL,
    alert_armed     BOOLEAN     NOT NULL DEFAULT 1 CHECK (alert_armed IN (0, 1)),
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((kind = 'reseller') = (user_id IS NOT NULL)),
    -- The last line against overspending, behind the guarded UPDATE.
    CHECK (kind <> 'reseller' OR balance >= -credit_limit)
);
CREATE UNIQUE INDEX credit_accounts_reseller_uq ON credit_accounts (tenant_id, user_id, currency)
    WHERE user_id IS NOT NULL;
CREATE UNIQUE INDEX credit_accounts_system_uq ON credit_accounts (tenant_id, kind, currency)
    WHERE user_id IS NULL;
CREATE INDEX credit_accounts_user_idx ON credit_accounts (user_id);

CREATE TABLE credit_movements (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            TEXT        NOT NULL CHECK (kind IN ('purchase', 'spend', 'transfer', 'adjustment')),
    invoice_id      BLOB        NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    service_id      BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    line_id         BLOB        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    idempotency_key TEXT        NULL,
    actor_name      TEXT        NOT NULL,
    description     TEXT        NOT NULL DEFAULT '',
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK (kind <> 'purchase' OR invoice_id IS NOT NULL)
);
CREATE UNIQUE INDEX credit_movements_idempotency_uq ON credit_movements (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
-- One paid invoice buys credits once.
CREATE UNIQUE INDEX credit_movements_purchase_uq ON credit_movements (invoice_id) WHERE kind = 'purchase';
CREATE INDEX credit_movements_tenant_created_idx ON credit_movements (tenant_id, created_at, id);
CREATE INDEX credit_movements_service_idx ON credit_movements (service_id);
CREATE INDEX credit_movements_line_idx ON credit_movements (line_id);

CREATE TABLE credit_entries (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    movement_id   BLOB        NOT NULL REFERENCES credit_movements (id) ON DELETE RESTRICT,
    account_id    BLOB        NOT NULL REFERENCES credit_accounts (id) ON DELETE RESTRICT,
    amount        INTEGER     NOT NULL CHECK (amount <> 0),
    currency      TEXT        NOT NULL CHECK (length(currency) = 3),
    balance_after INTEGER     NOT NULL,
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX credit_entries_account_idx  ON credit_entries (account_id, created_at, id);
CREATE INDEX credit_entries_movement_idx ON credit_entries (movement_id);
CREATE INDEX credit_entries_tenant_idx   ON credit_entries (tenant_id, created_at, id);

CREATE TRIGGER credit_movements_no_update BEFORE UPDATE ON credit_movements
BEGIN
    SELECT RAISE(ABORT, 'credit_movements is append-only');
END;
CREATE TRIGGER credit_movements_no_delete BEFORE DELETE ON credit_movements
BEGIN
    SELECT RAISE(ABORT, 'credit_movements is append-only');
END;
CREATE TRIGGER credit_entries_no_update BEFORE UPDATE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only');
END;
CREATE TRIGGER credit_entries_no_delete BEFORE DELETE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only');
END;

-- Commission rates per level up the tree (1 = the seller's parent), in basis points.
CREATE TABLE credit_commission_rates (
    tenant_id  BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    level      INTEGER     NOT NULL CHECK (level BETWEEN 1 AND 8),
    rate_bp    INTEGER     NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    updated_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (tenant_id, level)
);

-- A balance that crossed its low threshold, recorded once per crossing (alert_armed re-arms
-- when the balance climbs back above it).
CREATE TABLE credit_alerts (
    id          BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id   BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    account_id  BLOB        NOT NULL REFERENCES credit_accounts (id) ON DELETE RESTRICT,
    movement_id BLOB        NOT NULL REFERENCES credit_movements (id) ON DELETE RESTRICT,
    balance     INTEGER     NOT NULL,
    threshold   INTEGER     NOT NULL,
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX credit_alerts_account_idx ON credit_alerts (account_id, created_at);
CREATE INDEX credit_alerts_tenant_idx  ON credit_alerts (tenant_id, created_at);

-- Gap-free invoice numbers: one counter row per tenant, bumped in the invoice's own
-- transaction (a sequence would leave a gap on every rollback).
CREATE TABLE invoice_counters (
    tenant_id   BLOB        NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE RESTRICT,
    last_number INTEGER     NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);
ALTER TABLE invoices ADD COLUMN seq INTEGER NULL;
CREATE UNIQUE INDEX invoices_tenant_seq_uq ON invoices (tenant_id, seq) WHERE seq IS NOT NULL;
