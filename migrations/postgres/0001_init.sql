-- painel: initial schema, PostgreSQL dialect.
--
-- migrations/sqlite/0001_init.sql is the same schema for SQLite: same tables, same columns in
-- the same order, same nullability, same CHECK lists. Change both files together (see
-- migrations/README.md for the type conventions).
--
-- Run by sqlx::migrate!, which wraps the file in one transaction: no BEGIN/COMMIT here and
-- nothing that refuses to run in a transaction (e.g. CREATE INDEX CONCURRENTLY).

-- Trigram indexes make substring search (ILIKE '%x%') on tenants/customers.search_text use an
-- index. pg_trgm is a trusted extension: a database owner can create it without superuser.
CREATE EXTENSION IF NOT EXISTS pg_trgm;

-- ---------------------------------------------------------------------------------------------
-- Tenants and people
-- ---------------------------------------------------------------------------------------------

-- A white-label brand. Tenants are suspended or cancelled, never deleted: every tenant-owned
-- row references them with ON DELETE RESTRICT.
CREATE TABLE tenants (
    id                uuid        NOT NULL PRIMARY KEY,
    slug              text        NOT NULL UNIQUE,
    name              text        NOT NULL,
    domain            text        NOT NULL UNIQUE,
    status            text        NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'suspended', 'cancelled')),
    tier              text        NOT NULL DEFAULT 'basic'
                                  CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    currency          text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    logo_text         text        NOT NULL DEFAULT '',
    primary_color     text        NOT NULL DEFAULT '#3b82f6',
    accent_color      text        NOT NULL DEFAULT '#f59e0b',
    sender_name       text        NULL,
    sender_email      text        NULL,
    support_email     text        NULL,
    -- Limits: NULL means unlimited (the enterprise tier), so the tier defaults live in code.
    max_customers     bigint      NULL CHECK (max_customers >= 0),
    max_services      bigint      NULL CHECK (max_services >= 0),
    max_storage_gb    bigint      NULL CHECK (max_storage_gb >= 0),
    max_domains       bigint      NULL CHECK (max_domains >= 0),
    max_tickets_month bigint      NULL CHECK (max_tickets_month >= 0),
    suspended_reason  text        NULL,
    suspended_at      timestamptz NULL,
    search_text       text        NOT NULL DEFAULT '',
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tenants_name_idx        ON tenants (name, id);
CREATE INDEX tenants_created_idx     ON tenants (created_at, id);
CREATE INDEX tenants_status_name_idx ON tenants (status, name, id);
CREATE INDEX tenants_domain_idx      ON tenants (domain, id);
CREATE INDEX tenants_tier_name_idx   ON tenants (tier, name, id);
CREATE INDEX tenants_search_trgm_idx ON tenants USING gin (search_text gin_trgm_ops);

-- Operators, resellers and staff. tenant_id NULL = platform staff. parent_id builds the
-- reseller tree (partner > ultra > master > reseller). users.role is the RBAC key: it names a
-- row of roles (a tenant's own row first, then the global one).
CREATE TABLE users (
    id               uuid        NOT NULL PRIMARY KEY,
    tenant_id        uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    parent_id        uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    username         text        NOT NULL UNIQUE,
    email            text        NOT NULL,
    display_name     text        NOT NULL,
    password_hash    text        NULL,
    role             text        NOT NULL
                                 CHECK (role IN ('super_admin', 'tenant_admin', 'partner', 'ultra',
                                                 'master', 'reseller', 'support_agent', 'on_call')),
    status           text        NOT NULL DEFAULT 'active'
                                 CHECK (status IN ('active', 'disabled', 'locked')),
    totp_secret_enc  bytea       NULL,
    totp_enabled     boolean     NOT NULL DEFAULT false,
    credits_balance  bigint      NOT NULL DEFAULT 0,
    last_login_at    timestamptz NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    -- Credits are spent with a guarded UPDATE; the CHECK is the last line against overspending.
    CHECK (credits_balance >= 0),
    CHECK (parent_id IS NULL OR parent_id <> id),
    -- Tenant isolation: the cross-tenant role is platform-only, and the tenant-scoped roles
    -- must belong to a tenant (a reseller without tenant_id would escape row-level filters).
    CHECK (role <> 'super_admin' OR tenant_id IS NULL),
    CHECK (role NOT IN ('tenant_admin', 'ultra', 'master', 'reseller') OR tenant_id IS NOT NULL),
    CHECK (totp_enabled = false OR totp_secret_enc IS NOT NULL)
);
CREATE INDEX users_tenant_username_idx ON users (tenant_id, username, id);
CREATE INDEX users_tenant_name_idx     ON users (tenant_id, display_name, id);
CREATE INDEX users_tenant_created_idx  ON users (tenant_id, created_at, id);
CREATE INDEX users_created_idx         ON users (created_at, id);
CREATE INDEX users_tenant_role_idx     ON users (tenant_id, role, username);
CREATE INDEX users_parent_idx          ON users (parent_id);
CREATE INDEX users_email_idx           ON users (email);

-- RBAC. tenant_id NULL = the built-in role shared by every tenant; a tenant row with the same
-- key overrides its permission set for that tenant only.
CREATE TABLE roles (
    id          uuid        NOT NULL PRIMARY KEY,
    tenant_id   uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key         text        NOT NULL,
    name        text        NOT NULL,
    description text        NOT NULL DEFAULT '',
    is_system   boolean     NOT NULL DEFAULT false,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, key)
);
-- UNIQUE treats NULLs as distinct, so global roles need their own uniqueness.
CREATE UNIQUE INDEX roles_global_key_uq ON roles (key) WHERE tenant_id IS NULL;
CREATE INDEX roles_tenant_name_idx ON roles (tenant_id, name, id);

-- Global catalogue of permission keys ('customers:read', 'dns:write', ...); also the
-- vocabulary of api_keys.scopes.
CREATE TABLE permissions (
    id          uuid        NOT NULL PRIMARY KEY,
    key         text        NOT NULL UNIQUE CHECK (key LIKE '%:%'),
    description text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);

-- tenant_id copies the role's tenant (NULL for global roles) so RLS can filter this table
-- without a join.
CREATE TABLE role_permissions (
    role_id       uuid        NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id uuid        NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    tenant_id     uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    created_at    timestamptz NOT NULL DEFAULT now(),
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);
CREATE INDEX role_permissions_tenant_idx     ON role_permissions (tenant_id);

-- Login sessions. Only a hash of the bearer token is stored, so a leaked table cannot be
-- replayed. source = client IP or "tty:<host>" for terminal logins.
CREATE TABLE sessions (
    id         uuid        NOT NULL PRIMARY KEY,
    user_id    uuid        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash text        NOT NULL UNIQUE,
    created_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL,
    revoked_at timestamptz NULL,
    source     text        NOT NULL
);
CREATE INDEX sessions_user_idx    ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Brute-force lockout counts recent failures per username and per source. Not tenant-owned:
-- attempts happen before we know who (or whether) the user is. Keyed by text, not FK, so
-- attempts on unknown usernames are recorded too.
CREATE TABLE login_attempts (
    id       uuid        NOT NULL PRIMARY KEY,
    username text        NOT NULL,
    source   text        NOT NULL,
    at       timestamptz NOT NULL DEFAULT now(),
    success  boolean     NOT NULL
);
CREATE INDEX login_attempts_username_idx ON login_attempts (username, at);
CREATE INDEX login_attempts_source_idx   ON login_attempts (source, at);

-- End clients of a tenant (hosting buyers and streaming subscribers alike).
CREATE TABLE customers (
    id          uuid        NOT NULL PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    name        text        NOT NULL,
    email       text        NOT NULL,
    phone       text        NULL,
    document    text        NULL, -- CPF/CNPJ, digits only
    status      text        NOT NULL DEFAULT 'active'
                            CHECK (status IN ('active', 'suspended', 'closed')),
    notes       text        NOT NULL DEFAULT '',
    search_text text        NOT NULL DEFAULT '',
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, email)
);
CREATE INDEX customers_tenant_name_idx    ON customers (tenant_id, name, id);
CREATE INDEX customers_tenant_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_name_idx           ON customers (name, id);
CREATE INDEX customers_tenant_status_idx  ON customers (tenant_id, status, name, id);
CREATE INDEX customers_reseller_idx       ON customers (reseller_id);
CREATE INDEX customers_search_trgm_idx    ON customers USING gin (search_text gin_trgm_ops);

-- ---------------------------------------------------------------------------------------------
-- Infrastructure (platform-level: resellers never see these rows)
-- ---------------------------------------------------------------------------------------------

-- WHM/cPanel and other hosts. tenant_id NULL = shared by all tenants; set = dedicated to one.
-- The API token is encrypted by the app before it gets here.
CREATE TABLE servers (
    id             uuid        NOT NULL PRIMARY KEY,
    tenant_id      uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name           text        NOT NULL UNIQUE,
    hostname       text        NOT NULL,
    ip             text        NOT NULL,
    region         text        NOT NULL DEFAULT '',
    kind           text        NOT NULL DEFAULT 'whm'
                               CHECK (kind IN ('whm', 'cpanel', 'xui', 'xtream', 'dns', 'mail', 'other')),
    whm_url        text        NULL,
    api_user       text        NULL,
    api_token_enc  bytea       NULL,
    status         text        NOT NULL DEFAULT 'online'
                               CHECK (status IN ('online', 'degraded', 'offline', 'maintenance')),
    max_accounts   bigint      NULL CHECK (max_accounts >= 0),
    accounts_count bigint      NOT NULL DEFAULT 0 CHECK (accounts_count >= 0),
    disk_total_gb  bigint      NOT NULL DEFAULT 0 CHECK (disk_total_gb >= 0),
    disk_used_gb   bigint      NOT NULL DEFAULT 0 CHECK (disk_used_gb >= 0),
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX servers_name_idx        ON servers (name, id);
CREATE INDEX servers_created_idx     ON servers (created_at, id);
CREATE INDEX servers_status_name_idx ON servers (status, name, id);
CREATE INDEX servers_region_idx      ON servers (region, name, id);
CREATE INDEX servers_tenant_idx      ON servers (tenant_id);

-- Time series sampled by the health/capacity job (WHM systemloadavg, get_disk_usage). Load
-- averages are fractional, hence the only floating-point columns of the schema.
CREATE TABLE server_metrics (
    id             uuid             NOT NULL PRIMARY KEY,
    server_id      uuid             NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    at             timestamptz      NOT NULL DEFAULT now(),
    status         text             NOT NULL
                                    CHECK (status IN ('online', 'degraded', 'offline', 'maintenance')),
    latency_ms     bigint           NULL,
    load_1         double precision NULL,
    load_5         double precision NULL,
    load_15        double precision NULL,
    disk_total_gb  bigint           NULL,
    disk_used_gb   bigint           NULL,
    accounts_count bigint           NULL,
    error          text             NULL
);
CREATE INDEX server_metrics_server_at_idx ON server_metrics (server_id, at);
CREATE INDEX server_metrics_at_idx        ON server_metrics (at);

-- ---------------------------------------------------------------------------------------------
-- Catalogue and services
-- ---------------------------------------------------------------------------------------------

-- What a tenant sells. external_package is the WHM package name (createacct plan=) or the
-- XUI package id a line is created from; resources holds the limits shown to buyers
-- (disk, bandwidth, mailboxes, max_connections, ...).
CREATE TABLE plans (
    id               uuid        NOT NULL PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code             text        NOT NULL,
    name             text        NOT NULL,
    description      text        NOT NULL DEFAULT '',
    kind             text        NOT NULL DEFAULT 'hosting'
                                 CHECK (kind IN ('hosting', 'reseller_hosting', 'streaming', 'email', 'other')),
    status           text        NOT NULL DEFAULT 'active'
                                 CHECK (status IN ('active', 'hidden', 'retired')),
    price_minor      bigint      NOT NULL CHECK (price_minor >= 0),
    setup_fee_minor  bigint      NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
    currency         text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle    text        NOT NULL DEFAULT 'monthly'
                                 CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                          'annual', 'biennial', 'triennial')),
    duration_days    bigint      NULL CHECK (duration_days > 0),
    credits_cost     bigint      NULL CHECK (credits_cost >= 0),
    trial_hours      bigint      NOT NULL DEFAULT 0 CHECK (trial_hours >= 0),
    external_package text        NULL,
    resources        jsonb       NOT NULL DEFAULT '{}',
    sort_order       bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code)
);
CREATE INDEX plans_tenant_name_idx    ON plans (tenant_id, name, id);
CREATE INDEX plans_tenant_created_idx ON plans (tenant_id, created_at, id);
CREATE INDEX plans_tenant_status_idx  ON plans (tenant_id, status, sort_order);

-- Add-on marketplace (SSL, backup, e-mail, dedicated IP, ...). billing_cycle 'one_time' = not
-- recurring.
CREATE TABLE addons (
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code          text        NOT NULL,
    name          text        NOT NULL,
    description   text        NOT NULL DEFAULT '',
    kind          text        NOT NULL DEFAULT 'other'
                              CHECK (kind IN ('ssl', 'backup', 'email', 'dedicated_ip', 'security', 'other')),
    status        text        NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'hidden', 'retired')),
    price_minor   bigint      NOT NULL CHECK (price_minor >= 0),
    currency      text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle text        NOT NULL DEFAULT 'monthly'
                              CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                       'annual', 'biennial', 'triennial')),
    config        jsonb       NOT NULL DEFAULT '{}',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, code)
);
CREATE INDEX addons_tenant_name_idx    ON addons (tenant_id, name, id);
CREATE INDEX addons_tenant_created_idx ON addons (tenant_id, created_at, id);

-- A sold hosting account (or other plan instance). price/cycle are copied from the plan at
-- order time so later price changes do not rewrite existing contracts. external_ref is the
-- provider's handle (WHM account user, remote id).
CREATE TABLE services (
    id             uuid        NOT NULL PRIMARY KEY,
    tenant_id      uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id    uuid        NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    plan_id        uuid        NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    server_id      uuid        NULL REFERENCES servers (id) ON DELETE RESTRICT,
    status         text        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'provisioning', 'active', 'suspended',
                                                 'terminated', 'error')),
    domain         text        NULL,
    username       text        NULL,
    external_ref   text        NULL,
    price_minor    bigint      NOT NULL CHECK (price_minor >= 0),
    currency       text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle  text        NOT NULL DEFAULT 'monthly'
                               CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                        'annual', 'biennial', 'triennial')),
    auto_renew     boolean     NOT NULL DEFAULT true,
    next_due_at    timestamptz NULL,
    activated_at   timestamptz NULL,
    suspended_at   timestamptz NULL,
    suspend_reason text        NULL,
    terminated_at  timestamptz NULL,
    last_error     text        NULL,
    created_at     timestamptz NOT NULL DEFAULT now(),
    updated_at     timestamptz NOT NULL DEFAULT now()
);
-- A cPanel username is unique per server (createacct refuses duplicates); terminated
-- accounts free the name.
CREATE UNIQUE INDEX services_server_username_uq ON services (server_id, username)
    WHERE username IS NOT NULL AND status <> 'terminated';
CREATE INDEX services_tenant_created_idx ON services (tenant_id, created_at, id);
CREATE INDEX services_tenant_domain_idx  ON services (tenant_id, domain, id);
CREATE INDEX services_tenant_status_idx  ON services (tenant_id, status, created_at, id);
-- Renewal, reminder and suspension jobs scan by due date across tenants.
CREATE INDEX services_due_idx            ON services (status, next_due_at);
CREATE INDEX services_customer_idx       ON services (customer_id);
CREATE INDEX services_plan_idx           ON services (plan_id);
CREATE INDEX services_server_idx         ON services (server_id);

CREATE TABLE service_addons (
    id           uuid        NOT NULL PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    service_id   uuid        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    addon_id     uuid        NOT NULL REFERENCES addons (id) ON DELETE RESTRICT,
    status       text        NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'active', 'suspended', 'cancelled')),
    quantity     bigint      NOT NULL DEFAULT 1 CHECK (quantity > 0),
    price_minor  bigint      NOT NULL CHECK (price_minor >= 0),
    currency     text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    next_due_at  timestamptz NULL,
    cancelled_at timestamptz NULL,
    created_at   timestamptz NOT NULL DEFAULT now(),
    updated_at   timestamptz NOT NULL DEFAULT now()
);
-- One live subscription of a given add-on per service (use quantity for more); cancelled
-- rows stay for history.
CREATE UNIQUE INDEX service_addons_live_uq ON service_addons (service_id, addon_id)
    WHERE status <> 'cancelled';
CREATE INDEX service_addons_addon_idx          ON service_addons (addon_id);
CREATE INDEX service_addons_tenant_created_idx ON service_addons (tenant_id, created_at, id);

-- ---------------------------------------------------------------------------------------------
-- Billing
-- ---------------------------------------------------------------------------------------------

-- Bills a customer, or a reseller user buying credits (exactly which is the payer is up to the
-- app; at least one must be set).
CREATE TABLE invoices (
    id               uuid        NOT NULL PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id      uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    user_id          uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    number           text        NOT NULL,
    status           text        NOT NULL DEFAULT 'draft'
                                 CHECK (status IN ('draft', 'pending', 'paid', 'overdue', 'cancelled', 'refunded')),
    reason           text        NOT NULL DEFAULT 'manual'
                                 CHECK (reason IN ('order', 'renewal', 'addon', 'credits', 'manual')),
    subtotal_minor   bigint      NOT NULL DEFAULT 0 CHECK (subtotal_minor >= 0),
    discount_minor   bigint      NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
    tax_minor        bigint      NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
    total_minor      bigint      NOT NULL CHECK (total_minor >= 0),
    currency         text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    due_at           timestamptz NOT NULL,
    paid_at          timestamptz NULL,
    period_start     timestamptz NULL,
    period_end       timestamptz NULL,
    reminders_sent   bigint      NOT NULL DEFAULT 0,
    last_reminder_at timestamptz NULL,
    notes            text        NOT NULL DEFAULT '',
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, number),
    CHECK (customer_id IS NOT NULL OR user_id IS NOT NULL),
    -- Only a verified webhook marks an invoice paid, and it always records when.
    CHECK (status <> 'paid' OR paid_at IS NOT NULL)
);
CREATE INDEX invoices_tenant_created_idx ON invoices (tenant_id, created_at, id);
CREATE INDEX invoices_tenant_status_idx  ON invoices (tenant_id, status, due_at);
-- Overdue/reminder jobs scan open invoices across tenants.
CREATE INDEX invoices_status_due_idx     ON invoices (status, due_at);
CREATE INDEX invoices_customer_idx       ON invoices (customer_id, created_at);
CREATE INDEX invoices_user_idx           ON invoices (user_id);

CREATE TABLE invoice_items (
    id               uuid        NOT NULL PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id       uuid        NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    service_id       uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    service_addon_id uuid        NULL REFERENCES service_addons (id) ON DELETE RESTRICT,
    description      text        NOT NULL,
    quantity         bigint      NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price_minor bigint      NOT NULL,
    amount_minor     bigint      NOT NULL, -- negative for discount lines
    currency         text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    period_start     timestamptz NULL,
    period_end       timestamptz NULL,
    sort_order       bigint      NOT NULL DEFAULT 0,
    created_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX invoice_items_invoice_idx       ON invoice_items (invoice_id, sort_order);
CREATE INDEX invoice_items_service_idx       ON invoice_items (service_id);
CREATE INDEX invoice_items_service_addon_idx ON invoice_items (service_addon_id);
CREATE INDEX invoice_items_tenant_idx        ON invoice_items (tenant_id);

-- One attempt to pay an invoice through one provider. (provider, external_id) is unique so a
-- duplicated or replayed webhook lands on the same row; idempotency_key is what we send to the
-- provider on create (Mercado Pago X-Idempotency-Key, Stripe Idempotency-Key) so a retried
-- create cannot charge twice.
CREATE TABLE payments (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id      uuid        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider        text        NOT NULL
                                CHECK (provider IN ('stripe', 'pix', 'mercadopago', 'pagseguro', 'credit', 'manual')),
    method          text        NULL, -- card, pix, boleto, ... as reported by the provider
    external_id     text        NULL,
    idempotency_key text        NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'cancelled',
                                                  'expired', 'refunded')),
    amount_minor    bigint      NOT NULL CHECK (amount_minor >= 0),
    fee_minor       bigint      NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
    refunded_minor  bigint      NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    currency        text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    checkout_url    text        NULL,
    pix_code        text        NULL, -- BR Code "copia e cola"
    expires_at      timestamptz NULL,
    paid_at         timestamptz NULL,
    failure_reason  text        NULL,
    provider_data   jsonb       NULL, -- last object fetched from the provider, for support
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id),
    CHECK (refunded_minor <= amount_minor)
);
CREATE UNIQUE INDEX payments_idempotency_uq ON payments (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX payments_tenant_created_idx ON payments (tenant_id, created_at, id);
CREATE INDEX payments_tenant_status_idx  ON payments (tenant_id, status, created_at);
CREATE INDEX payments_invoice_idx        ON payments (invoice_id);

-- Chargebacks (Stripe charge.dispute.*, Mercado Pago chargebacks).
CREATE TABLE disputes (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    payment_id      uuid        NOT NULL REFERENCES payments (id) ON DELETE RESTRICT,
    provider        text        NOT NULL
                                CHECK (provider IN ('stripe', 'pix', 'mercadopago', 'pagseguro', 'credit', 'manual')),
    external_id     text        NOT NULL,
    status          text        NOT NULL DEFAULT 'needs_response'
                                CHECK (status IN ('needs_response', 'under_review', 'won', 'lost', 'closed')),
    reason          text        NULL,
    amount_minor    bigint      NOT NULL CHECK (amount_minor >= 0),
    currency        text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    evidence_due_at timestamptz NULL,
    closed_at       timestamptz NULL,
    notes           text        NOT NULL DEFAULT '',
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX disputes_tenant_created_idx ON disputes (tenant_id, created_at, id);
CREATE INDEX disputes_tenant_status_idx  ON disputes (tenant_id, status, evidence_due_at);
CREATE INDEX disputes_payment_idx        ON disputes (payment_id);

-- ---------------------------------------------------------------------------------------------
-- Streaming (XUI.one / XC_VM / Xtream UI panels)
-- ---------------------------------------------------------------------------------------------

-- A tenant's streaming panel. All credentials are encrypted by the app: the XUI access code
-- is a secret path segment, api_key the panel user's key; username/password_enc serve legacy
-- panels and player_api checks.
CREATE TABLE streaming_servers (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name            text        NOT NULL,
    kind            text        NOT NULL DEFAULT 'xui'
                                CHECK (kind IN ('xui', 'xc_vm', 'xtream_ui', 'binstream', 'p2br', 'other')),
    api_mode        text        NOT NULL DEFAULT 'admin' CHECK (api_mode IN ('admin', 'reseller')),
    base_url        text        NOT NULL,
    access_code_enc bytea       NULL,
    api_key_enc     bytea       NULL,
    username        text        NULL,
    password_enc    bytea       NULL,
    status          text        NOT NULL DEFAULT 'online'
                                CHECK (status IN ('online', 'degraded', 'offline', 'disabled')),
    priority        bigint      NOT NULL DEFAULT 0, -- lower syncs first
    sync_enabled    boolean     NOT NULL DEFAULT true,
    lines_count     bigint      NOT NULL DEFAULT 0 CHECK (lines_count >= 0),
    last_sync_at    timestamptz NULL,
    last_error      text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, name)
);
CREATE INDEX streaming_servers_tenant_name_idx    ON streaming_servers (tenant_id, name, id);
CREATE INDEX streaming_servers_tenant_created_idx ON streaming_servers (tenant_id, created_at, id);
CREATE INDEX streaming_servers_status_idx         ON streaming_servers (status, priority);

-- A streaming subscription, stored locally so the product keeps working when panels are down.
-- The local row is the source of truth; sync_status says whether the panel agrees.
-- expires_at NULL = never expires (XUI exp_date null).
CREATE TABLE lines (
    id                  uuid        NOT NULL PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id         uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    reseller_id         uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id             uuid        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    streaming_server_id uuid        NULL REFERENCES streaming_servers (id) ON DELETE RESTRICT,
    remote_id           text        NULL, -- the panel's line id
    username            text        NOT NULL,
    password_enc        bytea       NOT NULL,
    status              text        NOT NULL DEFAULT 'active'
                                    CHECK (status IN ('active', 'disabled', 'banned', 'expired', 'deleted')),
    is_trial            boolean     NOT NULL DEFAULT false,
    max_connections     bigint      NOT NULL DEFAULT 1 CHECK (max_connections >= 1),
    expires_at          timestamptz NULL,
    bouquets            jsonb       NOT NULL DEFAULT '[]',
    allowed_outputs     jsonb       NOT NULL DEFAULT '[]',
    auto_renew          boolean     NOT NULL DEFAULT false,
    notes               text        NOT NULL DEFAULT '',
    sync_status         text        NOT NULL DEFAULT 'pending'
                                    CHECK (sync_status IN ('pending', 'synced', 'dirty', 'conflict', 'error')),
    synced_at           timestamptz NULL,
    sync_error          text        NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
-- Panels reject duplicate usernames (STATUS_EXISTS_USERNAME); deterministic usernames plus
-- this index let a retried create be reconciled instead of duplicated.
CREATE UNIQUE INDEX lines_server_username_uq ON lines (streaming_server_id, username)
    WHERE status <> 'deleted';
CREATE UNIQUE INDEX lines_server_remote_uq ON lines (streaming_server_id, remote_id)
    WHERE remote_id IS NOT NULL;
CREATE INDEX lines_tenant_username_idx ON lines (tenant_id, username, id);
CREATE INDEX lines_tenant_created_idx  ON lines (tenant_id, created_at, id);
CREATE INDEX lines_tenant_expires_idx  ON lines (tenant_id, expires_at);
CREATE INDEX lines_unsynced_idx        ON lines (sync_status, updated_at) WHERE sync_status <> 'synced';
CREATE INDEX lines_customer_idx        ON lines (customer_id);
CREATE INDEX lines_reseller_idx        ON lines (reseller_id, created_at);
CREATE INDEX lines_plan_idx            ON lines (plan_id);
CREATE INDEX lines_server_idx          ON lines (streaming_server_id);

-- History of sync runs and per-line pushes/pulls. Kept when a line is deleted (line_id goes
-- NULL) so the trail of what was sent to a panel survives.
CREATE TABLE sync_log (
    id                  uuid        NOT NULL PRIMARY KEY,
    tenant_id           uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    streaming_server_id uuid        NOT NULL REFERENCES streaming_servers (id) ON DELETE CASCADE,
    line_id             uuid        NULL REFERENCES lines (id) ON DELETE SET NULL,
    direction           text        NOT NULL CHECK (direction IN ('push', 'pull')),
    operation           text        NOT NULL, -- create, edit, extend, enable, disable, delete, full_sync, ...
    status              text        NOT NULL CHECK (status IN ('success', 'error', 'conflict', 'skipped')),
    items               bigint      NOT NULL DEFAULT 0,
    duration_ms         bigint      NULL,
    message             text        NOT NULL DEFAULT '',
    details             jsonb       NULL,
    at                  timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX sync_log_tenant_at_idx ON sync_log (tenant_id, at, id);
CREATE INDEX sync_log_server_at_idx ON sync_log (streaming_server_id, at);
CREATE INDEX sync_log_line_at_idx   ON sync_log (line_id, at);

-- Free trials. ip/email/phone are kept so per-tenant limits ("one trial per IP/e-mail per N
-- days", blocked hours; rules in settings) can be checked with an index lookup.
CREATE TABLE trials (
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id   uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id       uuid        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    line_id       uuid        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    customer_id   uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    channel       text        NOT NULL DEFAULT 'panel'
                              CHECK (channel IN ('panel', 'email', 'whatsapp', 'api')),
    email         text        NULL,
    phone         text        NULL,
    ip            text        NULL,
    status        text        NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'active', 'expired', 'converted', 'rejected')),
    reject_reason text        NULL,
    starts_at     timestamptz NULL,
    expires_at    timestamptz NULL,
    converted_at  timestamptz NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX trials_tenant_created_idx ON trials (tenant_id, created_at, id);
CREATE INDEX trials_tenant_ip_idx      ON trials (tenant_id, ip, created_at);
CREATE INDEX trials_tenant_email_idx   ON trials (tenant_id, email, created_at);
CREATE INDEX trials_tenant_phone_idx   ON trials (tenant_id, phone, created_at);
CREATE INDEX trials_tenant_status_idx  ON trials (tenant_id, status, expires_at);
CREATE INDEX trials_reseller_idx       ON trials (reseller_id);
CREATE INDEX trials_line_idx           ON trials (line_id);
CREATE INDEX trials_customer_idx       ON trials (customer_id);
CREATE INDEX trials_plan_idx           ON trials (plan_id);

-- Reseller credit ledger: one row per balance change of one user. users.credits_balance is the
-- running total and balance_after lets an audit replay it. A transfer or sale between
-- resellers is two rows sharing correlation_id. idempotency_key makes a retried job (e.g. a
-- line renewal) spend credits at most once.
CREATE TABLE credit_transactions (
    id                   uuid        NOT NULL PRIMARY KEY,
    tenant_id            uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    user_id              uuid        NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    counterparty_user_id uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    kind                 text        NOT NULL
                                     CHECK (kind IN ('purchase', 'sale', 'transfer_in', 'transfer_out', 'spend',
                                                     'refund', 'commission', 'adjustment')),
    delta                bigint      NOT NULL CHECK (delta <> 0),
    balance_after        bigint      NOT NULL CHECK (balance_after >= 0),
    price_minor          bigint      NULL CHECK (price_minor >= 0), -- money paid for purchased/sold credits
    currency             text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    correlation_id       uuid        NULL,
    line_id              uuid        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    invoice_id           uuid        NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    idempotency_key      text        NULL,
    description          text        NOT NULL DEFAULT '',
    created_at           timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX credit_transactions_idempotency_uq ON credit_transactions (tenant_id, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX credit_transactions_tenant_created_idx ON credit_transactions (tenant_id, created_at, id);
CREATE INDEX credit_transactions_user_created_idx   ON credit_transactions (user_id, created_at, id);
CREATE INDEX credit_transactions_counterparty_idx   ON credit_transactions (counterparty_user_id);
CREATE INDEX credit_transactions_correlation_idx    ON credit_transactions (correlation_id);
CREATE INDEX credit_transactions_line_idx           ON credit_transactions (line_id);
CREATE INDEX credit_transactions_invoice_idx        ON credit_transactions (invoice_id);

-- ---------------------------------------------------------------------------------------------
-- cPanel -> cPanel migrations (WHM Transfer Tool)
-- ---------------------------------------------------------------------------------------------

CREATE TABLE migrations (
    id               uuid        NOT NULL PRIMARY KEY,
    tenant_id        uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id      uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id       uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    source_host      text        NOT NULL,
    source_user      text        NOT NULL,
    target_server_id uuid        NOT NULL REFERENCES servers (id) ON DELETE RESTRICT,
    status           text        NOT NULL DEFAULT 'queued'
                                 CHECK (status IN ('queued', 'validating', 'running', 'success', 'failed', 'aborted')),
    stage            text        NULL
                                 CHECK (stage IN ('credentials', 'session', 'email', 'databases', 'files',
                                                  'dns', 'ssl', 'finish')),
    progress         bigint      NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error            text        NULL,
    started_at       timestamptz NULL,
    finished_at      timestamptz NULL,
    created_at       timestamptz NOT NULL DEFAULT now(),
    updated_at       timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX migrations_tenant_created_idx ON migrations (tenant_id, created_at, id);
CREATE INDEX migrations_status_idx         ON migrations (status, created_at, id);
CREATE INDEX migrations_customer_idx       ON migrations (customer_id);
CREATE INDEX migrations_service_idx        ON migrations (service_id);
CREATE INDEX migrations_target_server_idx  ON migrations (target_server_id);

-- Per-stage log lines shown in the migration screen.
CREATE TABLE migration_logs (
    id           uuid        NOT NULL PRIMARY KEY,
    tenant_id    uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    migration_id uuid        NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    stage        text        NOT NULL
                             CHECK (stage IN ('credentials', 'session', 'email', 'databases', 'files',
                                              'dns', 'ssl', 'finish')),
    level        text        NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    message      text        NOT NULL,
    at           timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX migration_logs_migration_at_idx ON migration_logs (migration_id, at, id);
CREATE INDEX migration_logs_tenant_idx       ON migration_logs (tenant_id);

-- ---------------------------------------------------------------------------------------------
-- Domains, DNS and SSL
-- ---------------------------------------------------------------------------------------------

-- A domain we sell or manage. sale_mode: direct = registered on the platform's registrar
-- account (money to the platform); indirect = through the reseller's own registrar API (see
-- integrations), charged in credits; external = registered elsewhere (e.g. Registro.br, which
-- has no API) and only verified by resolving its NS records.
CREATE TABLE domains (
    id                 uuid        NOT NULL PRIMARY KEY,
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id        uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id         uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    name               text        NOT NULL, -- lower-case FQDN, punycode for IDNs
    registrar          text        NOT NULL DEFAULT 'external'
                                   CHECK (registrar IN ('namecheap', 'registro_br', 'external', 'other')),
    sale_mode          text        NOT NULL DEFAULT 'external'
                                   CHECK (sale_mode IN ('direct', 'indirect', 'external')),
    status             text        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'active', 'expired', 'suspended', 'transferred',
                                                     'cancelled')),
    registrar_ref      text        NULL,
    nameservers        jsonb       NOT NULL DEFAULT '[]',
    ns_verified_at     timestamptz NULL,
    ns_last_checked_at timestamptz NULL,
    registered_at      timestamptz NULL,
    expires_at         timestamptz NULL,
    auto_renew         boolean     NOT NULL DEFAULT true,
    price_minor        bigint      NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency           text        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    credits_cost       bigint      NULL CHECK (credits_cost >= 0),
    last_error         text        NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now()
);
-- A live domain belongs to one tenant only: stops a second tenant from claiming (and
-- hijacking DNS of) a name already managed here.
CREATE UNIQUE INDEX domains_name_live_uq ON domains (name) WHERE status NOT IN ('cancelled', 'transferred');
CREATE INDEX domains_tenant_name_idx    ON domains (tenant_id, name, id);
CREATE INDEX domains_tenant_created_idx ON domains (tenant_id, created_at, id);
CREATE INDEX domains_expires_idx        ON domains (status, expires_at);
CREATE INDEX domains_customer_idx       ON domains (customer_id);
CREATE INDEX domains_service_idx        ON domains (service_id);

-- A DNS zone hosted at a provider (Cloudflare v4: external_id = zone id). name_servers are the
-- ones the provider assigned, which the registrar must point to.
CREATE TABLE dns_zones (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    domain_id       uuid        NULL REFERENCES domains (id) ON DELETE RESTRICT,
    customer_id     uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id      uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    name            text        NOT NULL,
    provider        text        NOT NULL DEFAULT 'cloudflare'
                                CHECK (provider IN ('cloudflare', 'whm', 'other')),
    external_id     text        NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'active', 'moved', 'error', 'deleted')),
    name_servers    jsonb       NOT NULL DEFAULT '[]',
    activated_at    timestamptz NULL,
    last_checked_at timestamptz NULL,
    last_error      text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE UNIQUE INDEX dns_zones_name_live_uq ON dns_zones (name) WHERE status <> 'deleted';
CREATE INDEX dns_zones_tenant_name_idx    ON dns_zones (tenant_id, name, id);
CREATE INDEX dns_zones_tenant_created_idx ON dns_zones (tenant_id, created_at, id);
CREATE INDEX dns_zones_status_idx         ON dns_zones (status, last_checked_at);
CREATE INDEX dns_zones_domain_idx         ON dns_zones (domain_id);
CREATE INDEX dns_zones_customer_idx       ON dns_zones (customer_id);
CREATE INDEX dns_zones_service_idx        ON dns_zones (service_id);

-- ttl 1 = automatic (Cloudflare). sync_status 'error' rows feed the dns-ssl "failures" screen.
CREATE TABLE dns_records (
    id          uuid        NOT NULL PRIMARY KEY,
    tenant_id   uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    zone_id     uuid        NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
    record_type text        NOT NULL
                            CHECK (record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'CAA')),
    name        text        NOT NULL, -- FQDN
    content     text        NOT NULL,
    ttl         bigint      NOT NULL DEFAULT 1 CHECK (ttl >= 1),
    priority    bigint      NULL CHECK (priority >= 0),
    proxied     boolean     NOT NULL DEFAULT false,
    external_id text        NULL,
    sync_status text        NOT NULL DEFAULT 'pending'
                            CHECK (sync_status IN ('pending', 'synced', 'error', 'deleting')),
    last_error  text        NULL,
    created_at  timestamptz NOT NULL DEFAULT now(),
    updated_at  timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX dns_records_external_uq ON dns_records (zone_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX dns_records_zone_name_idx      ON dns_records (zone_id, name, record_type);
CREATE INDEX dns_records_tenant_created_idx ON dns_records (tenant_id, created_at, id);
CREATE INDEX dns_records_failures_idx       ON dns_records (tenant_id, sync_status, updated_at)
    WHERE sync_status <> 'synced';

CREATE TABLE certificates (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    domain_id       uuid        NULL REFERENCES domains (id) ON DELETE RESTRICT,
    zone_id         uuid        NULL REFERENCES dns_zones (id) ON DELETE RESTRICT,
    service_id      uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    common_name     text        NOT NULL,
    san             jsonb       NOT NULL DEFAULT '[]',
    provider        text        NOT NULL DEFAULT 'autossl'
                                CHECK (provider IN ('autossl', 'letsencrypt', 'cloudflare', 'custom')),
    issuer          text        NULL,
    status          text        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'active', 'expiring', 'expired', 'failed', 'revoked')),
    not_before      timestamptz NULL,
    not_after       timestamptz NULL,
    auto_renew      boolean     NOT NULL DEFAULT true,
    last_checked_at timestamptz NULL,
    last_error      text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX certificates_tenant_name_idx    ON certificates (tenant_id, common_name, id);
CREATE INDEX certificates_tenant_created_idx ON certificates (tenant_id, created_at, id);
-- The expiry watcher scans across tenants.
CREATE INDEX certificates_expiry_idx         ON certificates (status, not_after);
CREATE INDEX certificates_domain_idx         ON certificates (domain_id);
CREATE INDEX certificates_zone_idx           ON certificates (zone_id);
CREATE INDEX certificates_service_idx        ON certificates (service_id);

-- ---------------------------------------------------------------------------------------------
-- Support, messaging, operations
-- ---------------------------------------------------------------------------------------------

-- tier is the tenant's tier when the ticket was opened; it fixes the SLA (sla_due_at, NULL =
-- no SLA for free) even if the tenant changes tier later. source 'system' = opened
-- automatically (e.g. a provisioning job that failed for good).
CREATE TABLE tickets (
    id                uuid        NOT NULL PRIMARY KEY,
    tenant_id         uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id       uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    requester_user_id uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    service_id        uuid        NULL REFERENCES services (id) ON DELETE RESTRICT,
    assigned_to       uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    subject           text        NOT NULL,
    status            text        NOT NULL DEFAULT 'open'
                                  CHECK (status IN ('open', 'in_progress', 'waiting_customer', 'resolved', 'closed')),
    priority          text        NOT NULL DEFAULT 'medium'
                                  CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    tier              text        NOT NULL DEFAULT 'basic'
                                  CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    source            text        NOT NULL DEFAULT 'panel'
                                  CHECK (source IN ('panel', 'email', 'whatsapp', 'api', 'system')),
    sla_due_at        timestamptz NULL,
    first_response_at timestamptz NULL,
    resolved_at       timestamptz NULL,
    closed_at         timestamptz NULL,
    created_at        timestamptz NOT NULL DEFAULT now(),
    updated_at        timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX tickets_tenant_created_idx ON tickets (tenant_id, created_at, id);
CREATE INDEX tickets_tenant_status_idx  ON tickets (tenant_id, status, priority, created_at);
-- SLA breach watcher: open tickets by due time, across tenants.
CREATE INDEX tickets_sla_idx            ON tickets (status, sla_due_at) WHERE sla_due_at IS NOT NULL;
CREATE INDEX tickets_assigned_idx       ON tickets (assigned_to, status);
CREATE INDEX tickets_customer_idx       ON tickets (customer_id);
CREATE INDEX tickets_requester_idx      ON tickets (requester_user_id);
CREATE INDEX tickets_service_idx        ON tickets (service_id);

-- Messages are never edited; internal = staff-only note.
CREATE TABLE ticket_messages (
    id                 uuid        NOT NULL PRIMARY KEY,
    tenant_id          uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    ticket_id          uuid        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_user_id     uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    author_customer_id uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    body               text        NOT NULL,
    internal           boolean     NOT NULL DEFAULT false,
    attachments        jsonb       NOT NULL DEFAULT '[]',
    created_at         timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX ticket_messages_ticket_idx   ON ticket_messages (ticket_id, created_at, id);
CREATE INDEX ticket_messages_tenant_idx   ON ticket_messages (tenant_id);
CREATE INDEX ticket_messages_user_idx     ON ticket_messages (author_user_id);
CREATE INDEX ticket_messages_customer_idx ON ticket_messages (author_customer_id);

-- tenant_id NULL = platform default; a tenant row with the same (key, channel, locale)
-- overrides it.
CREATE TABLE message_templates (
    id         uuid        NOT NULL PRIMARY KEY,
    tenant_id  uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key        text        NOT NULL, -- trial.created, invoice.reminder, line.expiring, password.reset, ...
    channel    text        NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms', 'push', 'in_app')),
    locale     text        NOT NULL DEFAULT 'pt-BR',
    subject    text        NULL,
    body       text        NOT NULL,
    enabled    boolean     NOT NULL DEFAULT true,
    created_at timestamptz NOT NULL DEFAULT now(),
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, key, channel, locale)
);
CREATE UNIQUE INDEX message_templates_global_uq ON message_templates (key, channel, locale) WHERE tenant_id IS NULL;
CREATE INDEX message_templates_tenant_key_idx ON message_templates (tenant_id, key, id);

-- Outbound messages (e-mail, WhatsApp via Evolution API, ...) and in-app notices. tenant_id
-- NULL = platform notice to staff. dedupe_key (e.g. "invoice:<id>:reminder:2") stops a
-- retried job from messaging a customer twice.
CREATE TABLE notifications (
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    channel       text        NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms', 'push', 'in_app')),
    template_id   uuid        NULL REFERENCES message_templates (id) ON DELETE RESTRICT,
    user_id       uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    customer_id   uuid        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    recipient     text        NOT NULL, -- e-mail address, E.164 phone, or user id for in_app
    subject       text        NULL,
    body          text        NOT NULL,
    variables     jsonb       NOT NULL DEFAULT '{}',
    status        text        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed',
                                                'cancelled')),
    dedupe_key    text        NULL,
    external_id   text        NULL,
    attempts      bigint      NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    text        NULL,
    scheduled_at  timestamptz NULL,
    sent_at       timestamptz NULL,
    read_at       timestamptz NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now()
);
CREATE UNIQUE INDEX notifications_dedupe_uq ON notifications (dedupe_key) WHERE dedupe_key IS NOT NULL;
CREATE INDEX notifications_tenant_created_idx ON notifications (tenant_id, created_at, id);
CREATE INDEX notifications_pending_idx        ON notifications (status, scheduled_at)
    WHERE status IN ('queued', 'sending');
CREATE INDEX notifications_user_unread_idx    ON notifications (user_id, created_at) WHERE read_at IS NULL;
CREATE INDEX notifications_customer_idx       ON notifications (customer_id);
CREATE INDEX notifications_template_idx       ON notifications (template_id);

-- Mostly platform-level (tenant_id NULL); set when an incident concerns one tenant only.
CREATE TABLE incidents (
    id                  uuid        NOT NULL PRIMARY KEY,
    tenant_id           uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    server_id           uuid        NULL REFERENCES servers (id) ON DELETE RESTRICT,
    streaming_server_id uuid        NULL REFERENCES streaming_servers (id) ON DELETE RESTRICT,
    title               text        NOT NULL,
    description         text        NOT NULL DEFAULT '',
    severity            text        NOT NULL DEFAULT 'medium'
                                    CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status              text        NOT NULL DEFAULT 'investigating'
                                    CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    source              text        NOT NULL DEFAULT 'manual'
                                    CHECK (source IN ('manual', 'health_check', 'job', 'webhook')),
    started_at          timestamptz NOT NULL DEFAULT now(),
    acknowledged_at     timestamptz NULL,
    acknowledged_by     uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    resolved_at         timestamptz NULL,
    root_cause          text        NULL,
    resolution_notes    text        NULL,
    created_at          timestamptz NOT NULL DEFAULT now(),
    updated_at          timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX incidents_created_idx        ON incidents (created_at, id);
CREATE INDEX incidents_tenant_created_idx ON incidents (tenant_id, created_at, id);
CREATE INDEX incidents_open_idx           ON incidents (status, severity, started_at);
CREATE INDEX incidents_server_idx         ON incidents (server_id);
CREATE INDEX incidents_streaming_idx      ON incidents (streaming_server_id);
CREATE INDEX incidents_ack_idx            ON incidents (acknowledged_by);

-- Reseller API keys. The key is shown once; we keep its public prefix (to find the row) and a
-- hash of the whole key. scopes is a JSON array of permission keys. NULL rate limits = tenant
-- defaults.
CREATE TABLE api_keys (
    id                    uuid        NOT NULL PRIMARY KEY,
    tenant_id             uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    user_id               uuid        NULL REFERENCES users (id) ON DELETE RESTRICT,
    name                  text        NOT NULL,
    prefix                text        NOT NULL UNIQUE,
    key_hash              text        NOT NULL,
    scopes                jsonb       NOT NULL DEFAULT '[]' CHECK (jsonb_typeof(scopes) = 'array'),
    rate_limit_per_minute bigint      NULL CHECK (rate_limit_per_minute > 0),
    burst                 bigint      NULL CHECK (burst > 0),
    expires_at            timestamptz NULL,
    last_used_at          timestamptz NULL,
    last_used_source      text        NULL,
    revoked_at            timestamptz NULL,
    created_at            timestamptz NOT NULL DEFAULT now(),
    updated_at            timestamptz NOT NULL DEFAULT now()
);
CREATE INDEX api_keys_tenant_name_idx    ON api_keys (tenant_id, name, id);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at, id);
CREATE INDEX api_keys_user_idx           ON api_keys (user_id);

-- Credentials for external providers, per tenant (tenant_id NULL = the platform's own
-- account): a tenant's own Mercado Pago / Stripe account, a reseller's Namecheap API for
-- indirect domain sales, a tenant's Evolution (WhatsApp) instance, Cloudflare tokens.
-- config holds the non-secret part (account id, instance name, sandbox flag).
CREATE TABLE integrations (
    id                 uuid        NOT NULL PRIMARY KEY,
    tenant_id          uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    provider           text        NOT NULL
                                   CHECK (provider IN ('stripe', 'mercadopago', 'pagseguro', 'cloudflare',
                                                       'namecheap', 'evolution', 'smtp', 'other')),
    name               text        NOT NULL,
    status             text        NOT NULL DEFAULT 'active'
                                   CHECK (status IN ('active', 'disabled', 'error')),
    config             jsonb       NOT NULL DEFAULT '{}',
    secret_enc         bytea       NULL,
    webhook_secret_enc bytea       NULL,
    last_checked_at    timestamptz NULL,
    last_error         text        NULL,
    created_at         timestamptz NOT NULL DEFAULT now(),
    updated_at         timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, provider, name)
);
CREATE UNIQUE INDEX integrations_global_uq ON integrations (provider, name) WHERE tenant_id IS NULL;
CREATE INDEX integrations_tenant_name_idx ON integrations (tenant_id, name, id);

-- Inbound webhooks, recorded before processing. (provider, event_id) is unique so duplicated
-- deliveries are recognised (Stripe event id; Mercado Pago "type:data.id:action"; PagBank
-- charge id + status). tenant_id is filled once the event is matched to a payment.
CREATE TABLE webhook_events (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    provider        text        NOT NULL
                                CHECK (provider IN ('stripe', 'mercadopago', 'pagseguro', 'evolution', 'other')),
    event_id        text        NOT NULL,
    event_type      text        NOT NULL DEFAULT '',
    signature_valid boolean     NOT NULL,
    status          text        NOT NULL DEFAULT 'received'
                                CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
    payload         jsonb       NULL,
    error           text        NULL,
    received_at     timestamptz NOT NULL DEFAULT now(),
    processed_at    timestamptz NULL,
    UNIQUE (provider, event_id)
);
CREATE INDEX webhook_events_status_idx ON webhook_events (status, received_at);
CREATE INDEX webhook_events_tenant_idx ON webhook_events (tenant_id, received_at);

-- ---------------------------------------------------------------------------------------------
-- Job queue, settings, audit
-- ---------------------------------------------------------------------------------------------

-- Durable job queue polled by `painel worker`. A worker claims a job by moving it to
-- 'running' with a lease; an expired lease means the worker died and the job may be retried.
-- unique_key makes enqueueing idempotent while a job with that key is pending or running.
CREATE TABLE jobs (
    id            uuid        NOT NULL PRIMARY KEY,
    queue         text        NOT NULL DEFAULT 'default',
    kind          text        NOT NULL,
    payload       jsonb       NOT NULL,
    status        text        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    attempts      bigint      NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  bigint      NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at        timestamptz NOT NULL DEFAULT now(),
    lease_until   timestamptz NULL,
    locked_by     text        NULL,
    last_error    text        NULL,
    error_history jsonb       NOT NULL DEFAULT '[]',
    unique_key    text        NULL,
    tenant_id     uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    enqueued_by   text        NOT NULL DEFAULT 'system',
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    finished_at   timestamptz NULL
);
CREATE INDEX jobs_ready_idx ON jobs (queue, run_at, id) WHERE status = 'queued';
CREATE UNIQUE INDEX jobs_unique_key_uq ON jobs (unique_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_status_updated_idx ON jobs (status, updated_at);
-- Lease reaper: running jobs whose worker stopped renewing.
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at, id);

-- Key/value settings. tenant_id NULL = platform default; a tenant row overrides it.
CREATE TABLE settings (
    id         uuid        NOT NULL PRIMARY KEY,
    tenant_id  uuid        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key        text        NOT NULL,
    value      jsonb       NOT NULL,
    updated_at timestamptz NOT NULL DEFAULT now(),
    UNIQUE (tenant_id, key)
);
CREATE UNIQUE INDEX settings_global_key_uq ON settings (key) WHERE tenant_id IS NULL;

-- Append-only audit trail (LGPD, compliance, legal defence). seq gives a total order for the
-- hash chain (hash = H(prev_hash || row)). No foreign keys on purpose: audit rows must outlive
-- the users, tenants and entities they mention. source = client IP or "tty:<host>".
CREATE TABLE audit_log (
    seq           bigint      GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id            uuid        NOT NULL UNIQUE,
    at            timestamptz NOT NULL DEFAULT now(),
    actor_user_id uuid        NULL,
    actor_name    text        NOT NULL,
    actor_role    text        NOT NULL,
    tenant_id     uuid        NULL,
    action        text        NOT NULL,
    entity        text        NOT NULL,
    entity_id     text        NULL,
    before        jsonb       NULL,
    after         jsonb       NULL,
    source        text        NOT NULL,
    prev_hash     text        NULL,
    hash          text        NULL
);
CREATE INDEX audit_log_at_idx        ON audit_log (at);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at);
CREATE INDEX audit_log_entity_idx    ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_at_idx  ON audit_log (actor_name, at);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at);

-- Enforced in the database, not only in the service layer, so no code path (nor an operator
-- with a SQL prompt and the app's role) can rewrite history. TRUNCATE skips row triggers,
-- hence the separate statement trigger.
CREATE FUNCTION audit_log_append_only() RETURNS trigger
LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_no_update_delete
    BEFORE UPDATE OR DELETE ON audit_log
    FOR EACH ROW EXECUTE FUNCTION audit_log_append_only();

CREATE TRIGGER audit_log_no_truncate
    BEFORE TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
