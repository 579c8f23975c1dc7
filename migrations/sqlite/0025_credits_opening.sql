-- Opening balances (docs/adr/0025): seed 003's single-entry credit_transactions come into the
-- double-entry ledger against one `opening` account per tenant and currency. SQLite cannot
-- widen a CHECK in place, so credit_accounts is rebuilt; its children (entries, alerts) are
-- copied aside and rebuilt with it, so that no foreign key ever points at a dropped table and
-- no ledger row is lost. Definitions are 0024's, with 'opening' added to the account kinds.
CREATE TEMP TABLE mig0025_accounts AS SELECT * FROM credit_accounts;
CREATE TEMP TABLE mig0025_entries AS SELECT * FROM credit_entries;
CREATE TEMP TABLE mig0025_alerts AS SELECT * FROM credit_alerts;

DROP TABLE credit_alerts;
DROP TABLE credit_entries;
DROP TABLE credit_accounts;

CREATE TABLE credit_accounts (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            TEXT        NOT NULL CHECK (kind IN ('reseller', 'sales', 'commissions', 'purchases', 'opening')),
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

INSERT INTO credit_accounts SELECT * FROM mig0025_accounts;
INSERT INTO credit_entries SELECT * FROM mig0025_entries;
INSERT INTO credit_alerts SELECT * FROM mig0025_alerts;
DROP TABLE mig0025_accounts;
DROP TABLE mig0025_entries;
DROP TABLE mig0025_alerts;

-- Entries stay append-only (the triggers went with the old table).
CREATE TRIGGER credit_entries_no_update BEFORE UPDATE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only');
END;
CREATE TRIGGER credit_entries_no_delete BEFORE DELETE ON credit_entries
BEGIN
    SELECT RAISE(ABORT, 'credit_entries is append-only');
END;
