-- The reseller credits ledger (docs/adr/0024): double-entry. An account holds one balance in
-- one currency; a movement is one business event; its entries (>= 2) sum to zero per
-- currency. Entries and movements are append-only; the balance on the account row is the
-- running total that the guarded UPDATE and the CHECK keep above -credit_limit.
CREATE TABLE credit_accounts (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            text        NOT NULL CHECK (kind IN ('reseller', 'sales', 'commissions', 'purchases')),
    user_id         uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    currency        text        NOT NULL CHECK (length(currency) = 3),
    balance         bigint      NOT NULL DEFAULT 0,
    credit_limit    bigint      NOT NULL DEFAULT 0 CHECK (credit_limit >= 0),
    alert_threshold bigint      NULL,
    alert_armed     boolean     NOT NULL DEFAULT true,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
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
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    kind            text        NOT NULL CHECK (kind IN ('purchase', 'spend', 'transfer', 'adjustment')),
    invoice_id      uuid        NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    service_id      uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    line_id         uuid        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    idempotency_key text        NULL,
    actor_name      text        NOT NULL,
    description     text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
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
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    movement_id   uuid        NOT NULL REFERENCES credit_movements (id) ON DELETE RESTRICT,
    account_id    uuid        NOT NULL REFERENCES credit_accounts (id) ON DELETE RESTRICT,
    amount        bigint      NOT NULL CHECK (amount <> 0),
    currency      text        NOT NULL CHECK (length(currency) = 3),
    balance_after bigint      NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_entries_account_idx  ON credit_entries (account_id, created_at, id);
CREATE INDEX credit_entries_movement_idx ON credit_entries (movement_id);
CREATE INDEX credit_entries_tenant_idx   ON credit_entries (tenant_id, created_at, id);


-- Commission rates per level up the tree (1 = the seller's parent), in basis points.
CREATE TABLE credit_commission_rates (
    tenant_id  uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    level      bigint      NOT NULL CHECK (level BETWEEN 1 AND 8),
    rate_bp    bigint      NOT NULL CHECK (rate_bp BETWEEN 0 AND 10000),
    updated_at timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (tenant_id, level)
);

-- A balance that crossed its low threshold, recorded once per crossing (alert_armed re-arms
-- when the balance climbs back above it).
CREATE TABLE credit_alerts (
    id          uuid        NOT NULL PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    account_id  uuid        NOT NULL REFERENCES credit_accounts (id) ON DELETE RESTRICT,
    movement_id uuid        NOT NULL REFERENCES credit_movements (id) ON DELETE RESTRICT,
    balance     bigint      NOT NULL,
    threshold   bigint      NOT NULL,
    created_at  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX credit_alerts_account_idx ON credit_alerts (account_id, created_at);
CREATE INDEX credit_alerts_tenant_idx  ON credit_alerts (tenant_id, created_at);

-- Gap-free invoice numbers: one counter row per tenant, bumped in the invoice's own
-- transaction (a sequence would leave a gap on every rollback).
CREATE TABLE invoice_counters (
    tenant_id   uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE RESTRICT,
    last_number bigint      NOT NULL DEFAULT 0 CHECK (last_number >= 0)
);
ALTER TABLE invoices ADD COLUMN seq bigint NULL;
CREATE UNIQUE INDEX invoices_tenant_seq_uq ON invoices (tenant_id, seq) WHERE seq IS NOT NULL;

CREATE FUNCTION credit_ledger_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER credit_movements_no_update_delete BEFORE UPDATE OR DELETE ON credit_movements
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_movements_no_truncate BEFORE TRUNCATE ON credit_movements
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_entries_no_update_delete BEFORE UPDATE OR DELETE ON credit_entries
    FOR EACH ROW EXECUTE FUNCTION credit_ledger_append_only();
CREATE TRIGGER credit_entries_no_truncate BEFORE TRUNCATE ON credit_entries
    FOR EACH STATEMENT EXECUTE FUNCTION credit_ledger_append_only();

ALTER TABLE credit_accounts ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_accounts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_accounts USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE credit_movements ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_movements FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_movements USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE credit_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_entries USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE credit_commission_rates ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_commission_rates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_commission_rates USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE credit_alerts ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_alerts FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_alerts USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE invoice_counters ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_counters FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_counters USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
