-- Price lists, reseller overrides, coupons and customer balances (docs/adr/0026).
--
-- A price row prices one plan or add-on on one billing cycle: the tenant's own row
-- (reseller_id NULL, optionally a floor that overrides may not go below) or a reseller's
-- override for its subtree. No row = the plan's/add-on's own price on its own cycle.
CREATE TABLE prices (
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id   uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    item_kind     text        NOT NULL CHECK (item_kind IN ('plan', 'addon')),
    plan_id       uuid        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    addon_id      uuid        NULL REFERENCES addons (id) ON DELETE RESTRICT,
    billing_cycle text        NOT NULL
                              CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                       'annual', 'biennial', 'triennial')),
    price_minor   bigint     NOT NULL CHECK (price_minor >= 0),
    floor_minor   bigint     NULL CHECK (floor_minor >= 0),
    currency      text        NOT NULL CHECK (length(currency) = 3),
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
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
    id                    uuid        NOT NULL PRIMARY KEY,
    tenant_id             uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code                  text        NOT NULL,
    description           text        NOT NULL DEFAULT '',
    kind                  text        NOT NULL CHECK (kind IN ('percent', 'fixed')),
    percent_bp            bigint     NULL CHECK (percent_bp BETWEEN 1 AND 10000),
    amount_minor          bigint     NULL CHECK (amount_minor > 0),
    currency              text        NOT NULL CHECK (length(currency) = 3),
    valid_from            timestamptz        NULL,
    valid_until           timestamptz        NULL,
    max_uses              bigint     NULL CHECK (max_uses > 0),
    max_uses_per_customer bigint     NULL CHECK (max_uses_per_customer > 0),
    used_count            bigint     NOT NULL DEFAULT 0 CHECK (used_count >= 0),
    status                text        NOT NULL DEFAULT 'active' CHECK (status IN ('active', 'disabled')),
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code),
    CHECK ((kind = 'percent') = (percent_bp IS NOT NULL)),
    CHECK ((kind = 'fixed') = (amount_minor IS NOT NULL)),
    -- The last line behind the guarded UPDATE of a redemption.
    CHECK (max_uses IS NULL OR used_count <= max_uses)
);

-- What a coupon is restricted to; none = everything the tenant sells.
CREATE TABLE coupon_items (
    id        uuid NOT NULL PRIMARY KEY,
    tenant_id uuid NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    coupon_id uuid NOT NULL REFERENCES coupons (id) ON DELETE CASCADE,
    item_kind text NOT NULL CHECK (item_kind IN ('plan', 'addon')),
    plan_id   uuid NULL REFERENCES plans (id) ON DELETE RESTRICT,
    addon_id  uuid NULL REFERENCES addons (id) ON DELETE RESTRICT,
    CHECK ((item_kind = 'plan') = (plan_id IS NOT NULL)),
    CHECK ((item_kind = 'addon') = (addon_id IS NOT NULL))
);
CREATE UNIQUE INDEX coupon_items_uq ON coupon_items (coupon_id, item_kind, COALESCE(plan_id, addon_id));

CREATE TABLE coupon_redemptions (
    id             uuid    NOT NULL PRIMARY KEY,
    tenant_id      uuid    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    coupon_id      uuid    NOT NULL REFERENCES coupons (id) ON DELETE RESTRICT,
    customer_id    uuid    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    invoice_id     uuid    NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    service_id     uuid    NULL REFERENCES services (id) ON DELETE RESTRICT,
    discount_minor bigint NOT NULL CHECK (discount_minor >= 0),
    currency       text    NOT NULL CHECK (length(currency) = 3),
    actor_name     text    NOT NULL,
    created_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX coupon_redemptions_coupon_idx ON coupon_redemptions (coupon_id, customer_id);
CREATE INDEX coupon_redemptions_tenant_idx ON coupon_redemptions (tenant_id, created_at);

-- What a customer is owed (a downgrade's prorated credit), used up by later invoices.
CREATE TABLE customer_balances (
    tenant_id     uuid    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id   uuid    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    currency      text    NOT NULL CHECK (length(currency) = 3),
    balance_minor bigint NOT NULL DEFAULT 0 CHECK (balance_minor >= 0),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (customer_id, currency)
);
CREATE INDEX customer_balances_tenant_idx ON customer_balances (tenant_id);

CREATE TABLE customer_balance_entries (
    id            uuid    NOT NULL PRIMARY KEY,
    tenant_id     uuid    NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id   uuid    NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    currency      text    NOT NULL CHECK (length(currency) = 3),
    amount_minor  bigint NOT NULL CHECK (amount_minor <> 0),
    balance_after bigint NOT NULL CHECK (balance_after >= 0),
    kind          text    NOT NULL CHECK (kind IN ('proration', 'applied')),
    service_id    uuid    NULL REFERENCES services (id) ON DELETE RESTRICT,
    invoice_id    uuid    NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    note          text    NOT NULL DEFAULT '',
    actor_name    text    NOT NULL,
    created_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX customer_balance_entries_customer_idx ON customer_balance_entries (customer_id, created_at);
CREATE INDEX customer_balance_entries_tenant_idx   ON customer_balance_entries (tenant_id, created_at);

CREATE FUNCTION pricing_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION '% is append-only', TG_TABLE_NAME;
END
$$;
CREATE TRIGGER coupon_redemptions_no_update_delete BEFORE UPDATE OR DELETE ON coupon_redemptions
    FOR EACH ROW EXECUTE FUNCTION pricing_append_only();
CREATE TRIGGER coupon_redemptions_no_truncate BEFORE TRUNCATE ON coupon_redemptions
    FOR EACH STATEMENT EXECUTE FUNCTION pricing_append_only();
CREATE TRIGGER customer_balance_entries_no_update_delete BEFORE UPDATE OR DELETE ON customer_balance_entries
    FOR EACH ROW EXECUTE FUNCTION pricing_append_only();
CREATE TRIGGER customer_balance_entries_no_truncate BEFORE TRUNCATE ON customer_balance_entries
    FOR EACH STATEMENT EXECUTE FUNCTION pricing_append_only();

ALTER TABLE prices ENABLE ROW LEVEL SECURITY;
ALTER TABLE prices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON prices USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE coupons ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupons FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coupons USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE coupon_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coupon_items USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE coupon_redemptions ENABLE ROW LEVEL SECURITY;
ALTER TABLE coupon_redemptions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON coupon_redemptions USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE customer_balances ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_balances FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_balances USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE customer_balance_entries ENABLE ROW LEVEL SECURITY;
ALTER TABLE customer_balance_entries FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customer_balance_entries USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
