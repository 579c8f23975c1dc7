-- Price lists, reseller overrides, coupons and customer balances (docs/adr/0026); see the
-- PostgreSQL file for the same schema.
--
-- A price row prices one plan or add-on on one billing cycle: the tenant's own row
-- (reseller_id NULL, optionally a floor that overrides may not go below) or a reseller's
-- override for its subtree. No row = the plan's/add-on's own price on its own cycle.
CREATE TABLE prices (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id   BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    item_kind     TEXT        NOT NULL CHECK (item_kind IN ('plan', 'addon')),
    plan_id       BLOB        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    addon_id      BLOB        NULL REFERENCES addons (id) ON DELETE RESTRICT,
    billing_cycle TEXT        NOT NULL
                              CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                       'annual', 'biennial', 'triennial')),
    price_minor   INTEGER     NOT NULL CHECK (price_minor >= 0),
    floor_minor   INTEGER     NULL CHECK (floor_minor >= 0),
    currency      TEXT        NOT NULL CHECK (length(currency) = 3),
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((item_kind = 'plan') = (plan_id IS NOT NULL)),
    CHECK ((item_kind = 'addon') = (addon_id IS NOT NULL)),
    -- Only the tenant's own row carries a floor.
    CHECK (reseller_id IS NULL OR floor_minor IS NULL)
);
CREATE UNIQUE INDEX prices_tenant_uq ON prices (tenant_id, item_kind, COALESCE(plan_id, addon_id), billing_cycle)
    WHERE reseller_id IS NULL;
CREATE UNIQUE INDEX prices_reseller_uq ON prices (reseller_id, item_kind, COALESCE(plan_id, addon_id), billing_cycle)
    WHERE reseller_id IS NOT NULL;
CREATE INDEX prices_plan_idx  ON prices (plan_id);
CREATE INDEX prices_addon_idx ON prices (addon_id);

CREATE TABLE coupons (
    id                    BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id             BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code                  TEXT        NOT NULL,
    description           TEXT        NOT NULL DEFAULT '',
    kind                  TEXT        NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp            INTEGER     NULL CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_minor          INTEGER     NULL CHECK (amount_minor > 0),
    currency              TEXT        NOT NULL CHECK (length(currency) = 3),
    valid_from            TEXT        NULL,
    valid_until           TEXT        NULL,
    max_uses              INTEGER     NULL CHECK (max_uses > 0),
    max_uses_per_customer INTEGER     NULL CHECK (max_uses_per_customer > 0),
    used_count            INTEGER     NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    status                TEXT        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at            TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at            TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, code),
    CHECK ((kind = 'percent') = (percent_bp IS NOT NULL)),
    CHECK ((kind = 'fixed') = (amount_minor IS NOT NULL)),
    -- The last line behind the guarded UPDATE of a redemption.
    CHECK (max_uses IS NULL OR used_count <= max_uses)
);

-- What a coupon is restricted to; none = everything the tenant sells.
CREATE TABLE coupon_items (
    id        BLOB NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id BLOB NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    coupon_id BLOB NOT NULL REFERENCES coupons (id) ON DELETE CASCADE,
    item_kind TEXT NOT NULL CHECK (item_kind IN ('plan', 'addon')),
    plan_id   BLOB NULL REFERENCES plans (id) ON DELETE RESTRICT,
    addon_id  BLOB NULL REFERENCES addons (id) ON DELETE RESTRICT,
    CHECK ((item_kind = 'plan') = (plan_id IS NOT NULL)),
    CHECK ((item_kind = 'addon') = (addon_id IS NOT NULL))
);
CREATE UNIQUE INDEX coupon_items_uq ON coupon_items (coupon_id, item_kind, COALESCE(plan_id, addon_id));

CREATE TABLE coupon_redemptions (
    id             BLOB    NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id      BLOB    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    coupon_id      BLOB    NOT NULL REFERENCES coupons (id) ON DELETE RESTRICT,
    customer_id    BLOB    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    invoice_id     BLOB    NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    service_id     BLOB    NULL REFERENCES services (id) ON DELETE RESTRICT,
    discount_minor INTEGER NOT NULL CHECK (discount_minor >= 0),
    currency       TEXT    NOT NULL CHECK (length(currency) = 3),
    actor_name     TEXT    NOT NULL,
    created_at     TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX coupon_redemptions_coupon_idx ON coupon_redemptions (coupon_id, customer_id);
CREATE INDEX coupon_redemptions_tenant_idx ON coupon_redemptions (tenant_id, created_at);

-- What a customer is owed (a downgrade's prorated credit), used up by later invoices.
CREATE TABLE customer_balances (
    tenant_id     BLOB    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id   BLOB    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    balance_minor INTEGER NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
    updated_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (customer_id, currency)
);
CREATE INDEX customer_balances_tenant_idx ON customer_balances (tenant_id);

CREATE TABLE customer_balance_entries (
    id            BLOB    NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id   BLOB    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    currency      TEXT    NOT NULL CHECK (length(currency) = 3),
    amount_minor  INTEGER NOT NULL CHECK (amount_minor <> 0),
    balance_after INTEGER NOT NULL CHECK (balance_after >= 0),
    kind          TEXT    NOT NULL CHECK (kind IN ('proration', 'applied')),
    service_id    BLOB    NULL REFERENCES services (id) ON DELETE RESTRICT,
    invoice_id    BLOB    NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    note          TEXT    NOT NULL DEFAULT '',
    actor_name    TEXT    NOT NULL,
    created_at    TEXT    NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX customer_balance_entries_customer_idx ON customer_balance_entries (customer_id, created_at);
CREATE INDEX customer_balance_entries_tenant_idx   ON customer_balance_entries (tenant_id, created_at);

CREATE TRIGGER coupon_redemptions_no_update BEFORE UPDATE ON coupon_redemptions
BEGIN
    SELECT RAISE(ABORT, 'coupon_redemptions is append-only');
END;
CREATE TRIGGER coupon_redemptions_no_delete BEFORE DELETE ON coupon_redemptions
BEGIN
    SELECT RAISE(ABORT, 'coupon_redemptions is append-only');
END;
CREATE TRIGGER customer_balance_entries_no_update BEFORE UPDATE ON customer_balance_entries
BEGIN
    SELECT RAISE(ABORT, 'customer_balance_entries is append-only');
END;
CREATE TRIGGER customer_balance_entries_no_delete BEFORE DELETE ON customer_balance_entries
BEGIN
    SELECT RAISE(ABORT, 'customer_balance_entries is append-only');
END;
