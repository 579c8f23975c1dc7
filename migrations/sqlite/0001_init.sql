-- painel: initial schema, SQLite dialect.
--
-- migrations/postgres/0001_init.sql is the same schema for PostgreSQL: same tables, same
-- columns in the same order, same nullability, same CHECK lists. Change both files together
-- (see migrations/README.md for the type conventions).
--
-- Run by sqlx::migrate!, which wraps the file in one transaction: no BEGIN/COMMIT and no
-- PRAGMA here (foreign_keys is switched on per connection by the app, see backend/src/db.rs).
--
-- How the SQLite side differs, and why:
-- * uuid columns are 16-byte BLOBs (how sqlx binds uuid::Uuid). The CHECK on every id
--   rejects a uuid bound as text, which would otherwise be stored and then never match.
-- * Timestamps are RFC 3339 UTC TEXT. The app binds them itself; the DEFAULTs are only a
--   safety net for ad-hoc inserts.
-- * JSON is TEXT guarded by json_valid(); booleans are 0/1 guarded by a CHECK.
-- * No trigram index: search on search_text is a LIKE scan, fine at embedded sizes.

-- ---------------------------------------------------------------------------------------------
-- Tenants and people
-- ---------------------------------------------------------------------------------------------

-- A white-label brand. Tenants are suspended or cancelled, never deleted: every tenant-owned
-- row references them with ON DELETE RESTRICT.
CREATE TABLE tenants (
    id                BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    slug              TEXT        NOT NULL UNIQUE,
    name              TEXT        NOT NULL,
    domain            TEXT        NOT NULL UNIQUE,
    status            TEXT        NOT NULL DEFAULT 'active'
                                  CHECK (status IN ('active', 'suspended', 'cancelled')),
    tier              TEXT        NOT NULL DEFAULT 'basic'
                                  CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    currency          TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    logo_text         TEXT        NOT NULL DEFAULT '',
    primary_color     TEXT        NOT NULL DEFAULT '#3b82f6',
    accent_color      TEXT        NOT NULL DEFAULT '#f59e0b',
    sender_name       TEXT        NULL,
    sender_email      TEXT        NULL,
    support_email     TEXT        NULL,
    -- Limits: NULL means unlimited (the enterprise tier), so the tier defaults live in code.
    max_customers     INTEGER     NULL CHECK (max_customers >= 0),
    max_services      INTEGER     NULL CHECK (max_services >= 0),
    max_storage_gb    INTEGER     NULL CHECK (max_storage_gb >= 0),
    max_domains       INTEGER     NULL CHECK (max_domains >= 0),
    max_tickets_month INTEGER     NULL CHECK (max_tickets_month >= 0),
    suspended_reason  TEXT        NULL,
    suspended_at      TEXT        NULL,
    search_text       TEXT        NOT NULL DEFAULT '',
    created_at        TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at        TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX tenants_name_idx        ON tenants (name, id);
CREATE INDEX tenants_created_idx     ON tenants (created_at, id);
CREATE INDEX tenants_status_name_idx ON tenants (status, name, id);
CREATE INDEX tenants_domain_idx      ON tenants (domain, id);
CREATE INDEX tenants_tier_name_idx   ON tenants (tier, name, id);

-- Operators, resellers and staff. tenant_id NULL = platform staff. parent_id builds the
-- reseller tree (partner > ultra > master > reseller). users.role is the RBAC key: it names a
-- row of roles (a tenant's own row first, then the global one).
CREATE TABLE users (
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id        BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    parent_id        BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    username         TEXT        NOT NULL UNIQUE,
    email            TEXT        NOT NULL,
    display_name     TEXT        NOT NULL,
    password_hash    TEXT        NULL,
    role             TEXT        NOT NULL
                                 CHECK (role IN ('super_admin', 'tenant_admin', 'partner', 'ultra',
                                                 'master', 'reseller', 'support_agent', 'on_call')),
    status           TEXT        NOT NULL DEFAULT 'active'
                                 CHECK (status IN ('active', 'disabled', 'locked')),
    totp_secret_enc  BLOB        NULL,
    totp_enabled     BOOLEAN     NOT NULL DEFAULT 0 CHECK (totp_enabled IN (0, 1)),
    credits_balance  INTEGER     NOT NULL DEFAULT 0,
    last_login_at    TEXT        NULL,
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    -- Credits are spent with a guarded UPDATE; the CHECK is the last line against overspending.
    CHECK (credits_balance >= 0),
    CHECK (parent_id IS NULL OR parent_id <> id),
    -- Tenant isolation: the cross-tenant role is platform-only, and the tenant-scoped roles
    -- must belong to a tenant (a reseller without tenant_id would escape row-level filters).
    CHECK (role <> 'super_admin' OR tenant_id IS NULL),
    CHECK (role NOT IN ('tenant_admin', 'ultra', 'master', 'reseller') OR tenant_id IS NOT NULL),
    CHECK (totp_enabled = 0 OR totp_secret_enc IS NOT NULL)
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
    id          BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id   BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key         TEXT        NOT NULL,
    name        TEXT        NOT NULL,
    description TEXT        NOT NULL DEFAULT '',
    is_system   BOOLEAN     NOT NULL DEFAULT 0 CHECK (is_system IN (0, 1)),
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, key)
);
-- UNIQUE treats NULLs as distinct, so global roles need their own uniqueness.
CREATE UNIQUE INDEX roles_global_key_uq ON roles (key) WHERE tenant_id IS NULL;
CREATE INDEX roles_tenant_name_idx ON roles (tenant_id, name, id);

-- Global catalogue of permission keys ('customers:read', 'dns:write', ...); also the
-- vocabulary of api_keys.scopes.
CREATE TABLE permissions (
    id          BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    key         TEXT        NOT NULL UNIQUE CHECK (key LIKE '%:%'),
    description TEXT        NOT NULL DEFAULT '',
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);

-- tenant_id copies the role's tenant (NULL for global roles) so RLS can filter this table
-- without a join.
CREATE TABLE role_permissions (
    role_id       BLOB        NOT NULL REFERENCES roles (id) ON DELETE CASCADE,
    permission_id BLOB        NOT NULL REFERENCES permissions (id) ON DELETE CASCADE,
    tenant_id     BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    PRIMARY KEY (role_id, permission_id)
);
CREATE INDEX role_permissions_permission_idx ON role_permissions (permission_id);
CREATE INDEX role_permissions_tenant_idx     ON role_permissions (tenant_id);

-- Login sessions. Only a hash of the bearer token is stored, so a leaked table cannot be
-- replayed. source = client IP or "tty:<host>" for terminal logins.
CREATE TABLE sessions (
    id         BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    user_id    BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    token_hash TEXT        NOT NULL UNIQUE,
    created_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    expires_at TEXT        NOT NULL,
    revoked_at TEXT        NULL,
    source     TEXT        NOT NULL
);
CREATE INDEX sessions_user_idx    ON sessions (user_id, created_at);
CREATE INDEX sessions_expires_idx ON sessions (expires_at);

-- Brute-force lockout counts recent failures per username and per source. Not tenant-owned:
-- attempts happen before we know who (or whether) the user is. Keyed by text, not FK, so
-- attempts on unknown usernames are recorded too.
CREATE TABLE login_attempts (
    id       BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    username TEXT        NOT NULL,
    source   TEXT        NOT NULL,
    at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    success  BOOLEAN     NOT NULL CHECK (success IN (0, 1))
);
CREATE INDEX login_attempts_username_idx ON login_attempts (username, at);
CREATE INDEX login_attempts_source_idx   ON login_attempts (source, at);

-- End clients of a tenant (hosting buyers and streaming subscribers alike).
CREATE TABLE customers (
    id          BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id   BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    name        TEXT        NOT NULL,
    email       TEXT        NOT NULL,
    phone       TEXT        NULL,
    document    TEXT        NULL, -- CPF/CNPJ, digits only
    status      TEXT        NOT NULL DEFAULT 'active'
                            CHECK (status IN ('active', 'suspended', 'closed')),
    notes       TEXT        NOT NULL DEFAULT '',
    search_text TEXT        NOT NULL DEFAULT '',
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, email)
);
CREATE INDEX customers_tenant_name_idx    ON customers (tenant_id, name, id);
CREATE INDEX customers_tenant_created_idx ON customers (tenant_id, created_at, id);
CREATE INDEX customers_name_idx           ON customers (name, id);
CREATE INDEX customers_tenant_status_idx  ON customers (tenant_id, status, name, id);
CREATE INDEX customers_reseller_idx       ON customers (reseller_id);

-- ---------------------------------------------------------------------------------------------
-- Infrastructure (platform-level: resellers never see these rows)
-- ---------------------------------------------------------------------------------------------

-- WHM/cPanel and other hosts. tenant_id NULL = shared by all tenants; set = dedicated to one.
-- The API token is encrypted by the app before it gets here.
CREATE TABLE servers (
    id             BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id      BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name           TEXT        NOT NULL UNIQUE,
    hostname       TEXT        NOT NULL,
    ip             TEXT        NOT NULL,
    region         TEXT        NOT NULL DEFAULT '',
    kind           TEXT        NOT NULL DEFAULT 'whm'
                               CHECK (kind IN ('whm', 'cpanel', 'xui', 'xtream', 'dns', 'mail', 'other')),
    whm_url        TEXT        NULL,
    api_user       TEXT        NULL,
    api_token_enc  BLOB        NULL,
    status         TEXT        NOT NULL DEFAULT 'online'
                               CHECK (status IN ('online', 'degraded', 'offline', 'maintenance')),
    max_accounts   INTEGER     NULL CHECK (max_accounts >= 0),
    accounts_count INTEGER     NOT NULL DEFAULT 0 CHECK (accounts_count >= 0),
    disk_total_gb  INTEGER     NOT NULL DEFAULT 0 CHECK (disk_total_gb >= 0),
    disk_used_gb   INTEGER     NOT NULL DEFAULT 0 CHECK (disk_used_gb >= 0),
    created_at     TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at     TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX servers_name_idx        ON servers (name, id);
CREATE INDEX servers_created_idx     ON servers (created_at, id);
CREATE INDEX servers_status_name_idx ON servers (status, name, id);
CREATE INDEX servers_region_idx      ON servers (region, name, id);
CREATE INDEX servers_tenant_idx      ON servers (tenant_id);

-- Time series sampled by the health/capacity job (WHM systemloadavg, get_disk_usage). Load
-- averages are fractional, hence the only floating-point columns of the schema.
CREATE TABLE server_metrics (
    id             BLOB             NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    server_id      BLOB             NOT NULL REFERENCES servers (id) ON DELETE CASCADE,
    at             TEXT             NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    status         TEXT             NOT NULL
                                    CHECK (status IN ('online', 'degraded', 'offline', 'maintenance')),
    latency_ms     INTEGER          NULL,
    load_1         REAL             NULL,
    load_5         REAL             NULL,
    load_15        REAL             NULL,
    disk_total_gb  INTEGER          NULL,
    disk_used_gb   INTEGER          NULL,
    accounts_count INTEGER          NULL,
    error          TEXT             NULL
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
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id        BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code             TEXT        NOT NULL,
    name             TEXT        NOT NULL,
    description      TEXT        NOT NULL DEFAULT '',
    kind             TEXT        NOT NULL DEFAULT 'hosting'
                                 CHECK (kind IN ('hosting', 'reseller_hosting', 'streaming', 'email', 'other')),
    status           TEXT        NOT NULL DEFAULT 'active'
                                 CHECK (status IN ('active', 'hidden', 'retired')),
    price_minor      INTEGER     NOT NULL CHECK (price_minor >= 0),
    setup_fee_minor  INTEGER     NOT NULL DEFAULT 0 CHECK (setup_fee_minor >= 0),
    currency         TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle    TEXT        NOT NULL DEFAULT 'monthly'
                                 CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                          'annual', 'biennial', 'triennial')),
    duration_days    INTEGER     NULL CHECK (duration_days > 0),
    credits_cost     INTEGER     NULL CHECK (credits_cost >= 0),
    trial_hours      INTEGER     NOT NULL DEFAULT 0 CHECK (trial_hours >= 0),
    external_package TEXT        NULL,
    resources        TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(resources)),
    sort_order       INTEGER     NOT NULL DEFAULT 0,
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, code)
);
CREATE INDEX plans_tenant_name_idx    ON plans (tenant_id, name, id);
CREATE INDEX plans_tenant_created_idx ON plans (tenant_id, created_at, id);
CREATE INDEX plans_tenant_status_idx  ON plans (tenant_id, status, sort_order);

-- Add-on marketplace (SSL, backup, e-mail, dedicated IP, ...). billing_cycle 'one_time' = not
-- recurring.
CREATE TABLE addons (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    code          TEXT        NOT NULL,
    name          TEXT        NOT NULL,
    description   TEXT        NOT NULL DEFAULT '',
    kind          TEXT        NOT NULL DEFAULT 'other'
                              CHECK (kind IN ('ssl', 'backup', 'email', 'dedicated_ip', 'security', 'other')),
    status        TEXT        NOT NULL DEFAULT 'active'
                              CHECK (status IN ('active', 'hidden', 'retired')),
    price_minor   INTEGER     NOT NULL CHECK (price_minor >= 0),
    currency      TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle TEXT        NOT NULL DEFAULT 'monthly'
                              CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                       'annual', 'biennial', 'triennial')),
    config        TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, code)
);
CREATE INDEX addons_tenant_name_idx    ON addons (tenant_id, name, id);
CREATE INDEX addons_tenant_created_idx ON addons (tenant_id, created_at, id);

-- A sold hosting account (or other plan instance). price/cycle are copied from the plan at
-- order time so later price changes do not rewrite existing contracts. external_ref is the
-- provider's handle (WHM account user, remote id).
CREATE TABLE services (
    id             BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id      BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id    BLOB        NOT NULL REFERENCES customers (id) ON DELETE RESTRICT,
    plan_id        BLOB        NOT NULL REFERENCES plans (id) ON DELETE RESTRICT,
    server_id      BLOB        NULL REFERENCES servers (id) ON DELETE RESTRICT,
    status         TEXT        NOT NULL DEFAULT 'pending'
                               CHECK (status IN ('pending', 'provisioning', 'active', 'suspended',
                                                 'terminated', 'error')),
    domain         TEXT        NULL,
    username       TEXT        NULL,
    external_ref   TEXT        NULL,
    price_minor    INTEGER     NOT NULL CHECK (price_minor >= 0),
    currency       TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    billing_cycle  TEXT        NOT NULL DEFAULT 'monthly'
                               CHECK (billing_cycle IN ('one_time', 'monthly', 'quarterly', 'semiannual',
                                                        'annual', 'biennial', 'triennial')),
    auto_renew     BOOLEAN     NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    next_due_at    TEXT        NULL,
    activated_at   TEXT        NULL,
    suspended_at   TEXT        NULL,
    suspend_reason TEXT        NULL,
    terminated_at  TEXT        NULL,
    last_error     TEXT        NULL,
    created_at     TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at     TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id           BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id    BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    service_id   BLOB        NOT NULL REFERENCES services (id) ON DELETE CASCADE,
    addon_id     BLOB        NOT NULL REFERENCES addons (id) ON DELETE RESTRICT,
    status       TEXT        NOT NULL DEFAULT 'pending'
                             CHECK (status IN ('pending', 'active', 'suspended', 'cancelled')),
    quantity     INTEGER     NOT NULL DEFAULT 1 CHECK (quantity > 0),
    price_minor  INTEGER     NOT NULL CHECK (price_minor >= 0),
    currency     TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    next_due_at  TEXT        NULL,
    cancelled_at TEXT        NULL,
    created_at   TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at   TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id        BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id      BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    user_id          BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    number           TEXT        NOT NULL,
    status           TEXT        NOT NULL DEFAULT 'draft'
                                 CHECK (status IN ('draft', 'pending', 'paid', 'overdue', 'cancelled', 'refunded')),
    reason           TEXT        NOT NULL DEFAULT 'manual'
                                 CHECK (reason IN ('order', 'renewal', 'addon', 'credits', 'manual')),
    subtotal_minor   INTEGER     NOT NULL DEFAULT 0 CHECK (subtotal_minor >= 0),
    discount_minor   INTEGER     NOT NULL DEFAULT 0 CHECK (discount_minor >= 0),
    tax_minor        INTEGER     NOT NULL DEFAULT 0 CHECK (tax_minor >= 0),
    total_minor      INTEGER     NOT NULL CHECK (total_minor >= 0),
    currency         TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    due_at           TEXT        NOT NULL,
    paid_at          TEXT        NULL,
    period_start     TEXT        NULL,
    period_end       TEXT        NULL,
    reminders_sent   INTEGER     NOT NULL DEFAULT 0,
    last_reminder_at TEXT        NULL,
    notes            TEXT        NOT NULL DEFAULT '',
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
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
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id        BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id       BLOB        NOT NULL REFERENCES invoices (id) ON DELETE CASCADE,
    service_id       BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    service_addon_id BLOB        NULL REFERENCES service_addons (id) ON DELETE RESTRICT,
    description      TEXT        NOT NULL,
    quantity         INTEGER     NOT NULL DEFAULT 1 CHECK (quantity > 0),
    unit_price_minor INTEGER     NOT NULL,
    amount_minor     INTEGER     NOT NULL, -- negative for discount lines
    currency         TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    period_start     TEXT        NULL,
    period_end       TEXT        NULL,
    sort_order       INTEGER     NOT NULL DEFAULT 0,
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id      BLOB        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider        TEXT        NOT NULL
                                CHECK (provider IN ('stripe', 'pix', 'mercadopago', 'pagseguro', 'credit', 'manual')),
    method          TEXT        NULL, -- card, pix, boleto, ... as reported by the provider
    external_id     TEXT        NULL,
    idempotency_key TEXT        NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'processing', 'succeeded', 'failed', 'cancelled',
                                                  'expired', 'refunded')),
    amount_minor    INTEGER     NOT NULL CHECK (amount_minor >= 0),
    fee_minor       INTEGER     NOT NULL DEFAULT 0 CHECK (fee_minor >= 0),
    refunded_minor  INTEGER     NOT NULL DEFAULT 0 CHECK (refunded_minor >= 0),
    currency        TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    checkout_url    TEXT        NULL,
    pix_code        TEXT        NULL, -- BR Code "copia e cola"
    expires_at      TEXT        NULL,
    paid_at         TEXT        NULL,
    failure_reason  TEXT        NULL,
    provider_data   TEXT        NULL -- last object fetched from the provider, for support
                                CHECK (provider_data IS NULL OR json_valid(provider_data)),
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (provider, external_id),
    CHECK (refunded_minor <= amount_minor)
);
CREATE UNIQUE INDEX payments_idempotency_uq ON payments (idempotency_key) WHERE idempotency_key IS NOT NULL;
CREATE INDEX payments_tenant_created_idx ON payments (tenant_id, created_at, id);
CREATE INDEX payments_tenant_status_idx  ON payments (tenant_id, status, created_at);
CREATE INDEX payments_invoice_idx        ON payments (invoice_id);

-- Chargebacks (Stripe charge.dispute.*, Mercado Pago chargebacks).
CREATE TABLE disputes (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    payment_id      BLOB        NOT NULL REFERENCES payments (id) ON DELETE RESTRICT,
    provider        TEXT        NOT NULL
                                CHECK (provider IN ('stripe', 'pix', 'mercadopago', 'pagseguro', 'credit', 'manual')),
    external_id     TEXT        NOT NULL,
    status          TEXT        NOT NULL DEFAULT 'needs_response'
                                CHECK (status IN ('needs_response', 'under_review', 'won', 'lost', 'closed')),
    reason          TEXT        NULL,
    amount_minor    INTEGER     NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    evidence_due_at TEXT        NULL,
    closed_at       TEXT        NULL,
    notes           TEXT        NOT NULL DEFAULT '',
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
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
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    name            TEXT        NOT NULL,
    kind            TEXT        NOT NULL DEFAULT 'xui'
                                CHECK (kind IN ('xui', 'xc_vm', 'xtream_ui', 'binstream', 'p2br', 'other')),
    api_mode        TEXT        NOT NULL DEFAULT 'admin' CHECK (api_mode IN ('admin', 'reseller')),
    base_url        TEXT        NOT NULL,
    access_code_enc BLOB        NULL,
    api_key_enc     BLOB        NULL,
    username        TEXT        NULL,
    password_enc    BLOB        NULL,
    status          TEXT        NOT NULL DEFAULT 'online'
                                CHECK (status IN ('online', 'degraded', 'offline', 'disabled')),
    priority        INTEGER     NOT NULL DEFAULT 0, -- lower syncs first
    sync_enabled    BOOLEAN     NOT NULL DEFAULT 1 CHECK (sync_enabled IN (0, 1)),
    lines_count     INTEGER     NOT NULL DEFAULT 0 CHECK (lines_count >= 0),
    last_sync_at    TEXT        NULL,
    last_error      TEXT        NULL,
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, name)
);
CREATE INDEX streaming_servers_tenant_name_idx    ON streaming_servers (tenant_id, name, id);
CREATE INDEX streaming_servers_tenant_created_idx ON streaming_servers (tenant_id, created_at, id);
CREATE INDEX streaming_servers_status_idx         ON streaming_servers (status, priority);

-- A streaming subscription, stored locally so the product keeps working when panels are down.
-- The local row is the source of truth; sync_status says whether the panel agrees.
-- expires_at NULL = never expires (XUI exp_date null).
CREATE TABLE lines (
    id                  BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id           BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id         BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    reseller_id         BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id             BLOB        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    streaming_server_id BLOB        NULL REFERENCES streaming_servers (id) ON DELETE RESTRICT,
    remote_id           TEXT        NULL, -- the panel's line id
    username            TEXT        NOT NULL,
    password_enc        BLOB        NOT NULL,
    status              TEXT        NOT NULL DEFAULT 'active'
                                    CHECK (status IN ('active', 'disabled', 'banned', 'expired', 'deleted')),
    is_trial            BOOLEAN     NOT NULL DEFAULT 0 CHECK (is_trial IN (0, 1)),
    max_connections     INTEGER     NOT NULL DEFAULT 1 CHECK (max_connections >= 1),
    expires_at          TEXT        NULL,
    bouquets            TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(bouquets)),
    allowed_outputs     TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(allowed_outputs)),
    auto_renew          BOOLEAN     NOT NULL DEFAULT 0 CHECK (auto_renew IN (0, 1)),
    notes               TEXT        NOT NULL DEFAULT '',
    sync_status         TEXT        NOT NULL DEFAULT 'pending'
                                    CHECK (sync_status IN ('pending', 'synced', 'dirty', 'conflict', 'error')),
    synced_at           TEXT        NULL,
    sync_error          TEXT        NULL,
    created_at          TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at          TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                  BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id           BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    streaming_server_id BLOB        NOT NULL REFERENCES streaming_servers (id) ON DELETE CASCADE,
    line_id             BLOB        NULL REFERENCES lines (id) ON DELETE SET NULL,
    direction           TEXT        NOT NULL CHECK (direction IN ('push', 'pull')),
    operation           TEXT        NOT NULL, -- create, edit, extend, enable, disable, delete, full_sync, ...
    status              TEXT        NOT NULL CHECK (status IN ('success', 'error', 'conflict', 'skipped')),
    items               INTEGER     NOT NULL DEFAULT 0,
    duration_ms         INTEGER     NULL,
    message             TEXT        NOT NULL DEFAULT '',
    details             TEXT        NULL CHECK (details IS NULL OR json_valid(details)),
    at                  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX sync_log_tenant_at_idx ON sync_log (tenant_id, at, id);
CREATE INDEX sync_log_server_at_idx ON sync_log (streaming_server_id, at);
CREATE INDEX sync_log_line_at_idx   ON sync_log (line_id, at);

-- Free trials. ip/email/phone are kept so per-tenant limits ("one trial per IP/e-mail per N
-- days", blocked hours; rules in settings) can be checked with an index lookup.
CREATE TABLE trials (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    reseller_id   BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    plan_id       BLOB        NULL REFERENCES plans (id) ON DELETE RESTRICT,
    line_id       BLOB        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    customer_id   BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    channel       TEXT        NOT NULL DEFAULT 'panel'
                              CHECK (channel IN ('panel', 'email', 'whatsapp', 'api')),
    email         TEXT        NULL,
    phone         TEXT        NULL,
    ip            TEXT        NULL,
    status        TEXT        NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'active', 'expired', 'converted', 'rejected')),
    reject_reason TEXT        NULL,
    starts_at     TEXT        NULL,
    expires_at    TEXT        NULL,
    converted_at  TEXT        NULL,
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                   BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id            BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    user_id              BLOB        NOT NULL REFERENCES users (id) ON DELETE RESTRICT,
    counterparty_user_id BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    kind                 TEXT        NOT NULL
                                     CHECK (kind IN ('purchase', 'sale', 'transfer_in', 'transfer_out', 'spend',
                                                     'refund', 'commission', 'adjustment')),
    delta                INTEGER     NOT NULL CHECK (delta <> 0),
    balance_after        INTEGER     NOT NULL CHECK (balance_after >= 0),
    price_minor          INTEGER     NULL CHECK (price_minor >= 0), -- money paid for purchased/sold credits
    currency             TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    correlation_id       BLOB        NULL
                                     CHECK (correlation_id IS NULL OR (typeof(correlation_id) = 'blob' AND length(correlation_id) = 16)),
    line_id              BLOB        NULL REFERENCES lines (id) ON DELETE RESTRICT,
    invoice_id           BLOB        NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    idempotency_key      TEXT        NULL,
    description          TEXT        NOT NULL DEFAULT '',
    created_at           TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id               BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id        BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id      BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id       BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    source_host      TEXT        NOT NULL,
    source_user      TEXT        NOT NULL,
    target_server_id BLOB        NOT NULL REFERENCES servers (id) ON DELETE RESTRICT,
    status           TEXT        NOT NULL DEFAULT 'queued'
                                 CHECK (status IN ('queued', 'validating', 'running', 'success', 'failed', 'aborted')),
    stage            TEXT        NULL
                                 CHECK (stage IN ('credentials', 'session', 'email', 'databases', 'files',
                                                  'dns', 'ssl', 'finish')),
    progress         INTEGER     NOT NULL DEFAULT 0 CHECK (progress BETWEEN 0 AND 100),
    error            TEXT        NULL,
    started_at       TEXT        NULL,
    finished_at      TEXT        NULL,
    created_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at       TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX migrations_tenant_created_idx ON migrations (tenant_id, created_at, id);
CREATE INDEX migrations_status_idx         ON migrations (status, created_at, id);
CREATE INDEX migrations_customer_idx       ON migrations (customer_id);
CREATE INDEX migrations_service_idx        ON migrations (service_id);
CREATE INDEX migrations_target_server_idx  ON migrations (target_server_id);

-- Per-stage log lines shown in the migration screen.
CREATE TABLE migration_logs (
    id           BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id    BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    migration_id BLOB        NOT NULL REFERENCES migrations (id) ON DELETE CASCADE,
    stage        TEXT        NOT NULL
                             CHECK (stage IN ('credentials', 'session', 'email', 'databases', 'files',
                                              'dns', 'ssl', 'finish')),
    level        TEXT        NOT NULL CHECK (level IN ('info', 'warn', 'error')),
    message      TEXT        NOT NULL,
    at           TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                 BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id          BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id        BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id         BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    name               TEXT        NOT NULL, -- lower-case FQDN, punycode for IDNs
    registrar          TEXT        NOT NULL DEFAULT 'external'
                                   CHECK (registrar IN ('namecheap', 'registro_br', 'external', 'other')),
    sale_mode          TEXT        NOT NULL DEFAULT 'external'
                                   CHECK (sale_mode IN ('direct', 'indirect', 'external')),
    status             TEXT        NOT NULL DEFAULT 'pending'
                                   CHECK (status IN ('pending', 'active', 'expired', 'suspended', 'transferred',
                                                     'cancelled')),
    registrar_ref      TEXT        NULL,
    nameservers        TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(nameservers)),
    ns_verified_at     TEXT        NULL,
    ns_last_checked_at TEXT        NULL,
    registered_at      TEXT        NULL,
    expires_at         TEXT        NULL,
    auto_renew         BOOLEAN     NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    price_minor        INTEGER     NOT NULL DEFAULT 0 CHECK (price_minor >= 0),
    currency           TEXT        NOT NULL DEFAULT 'BRL' CHECK (length(currency) = 3),
    credits_cost       INTEGER     NULL CHECK (credits_cost >= 0),
    last_error         TEXT        NULL,
    created_at         TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at         TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    domain_id       BLOB        NULL REFERENCES domains (id) ON DELETE RESTRICT,
    customer_id     BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    service_id      BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    name            TEXT        NOT NULL,
    provider        TEXT        NOT NULL DEFAULT 'cloudflare'
                                CHECK (provider IN ('cloudflare', 'whm', 'other')),
    external_id     TEXT        NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'active', 'moved', 'error', 'deleted')),
    name_servers    TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(name_servers)),
    activated_at    TEXT        NULL,
    last_checked_at TEXT        NULL,
    last_error      TEXT        NULL,
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
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
    id          BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id   BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    zone_id     BLOB        NOT NULL REFERENCES dns_zones (id) ON DELETE CASCADE,
    record_type TEXT        NOT NULL
                            CHECK (record_type IN ('A', 'AAAA', 'CNAME', 'MX', 'TXT', 'NS', 'SRV', 'CAA')),
    name        TEXT        NOT NULL, -- FQDN
    content     TEXT        NOT NULL,
    ttl         INTEGER     NOT NULL DEFAULT 1 CHECK (ttl >= 1),
    priority    INTEGER     NULL CHECK (priority >= 0),
    proxied     BOOLEAN     NOT NULL DEFAULT 0 CHECK (proxied IN (0, 1)),
    external_id TEXT        NULL,
    sync_status TEXT        NOT NULL DEFAULT 'pending'
                            CHECK (sync_status IN ('pending', 'synced', 'error', 'deleting')),
    last_error  TEXT        NULL,
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE UNIQUE INDEX dns_records_external_uq ON dns_records (zone_id, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX dns_records_zone_name_idx      ON dns_records (zone_id, name, record_type);
CREATE INDEX dns_records_tenant_created_idx ON dns_records (tenant_id, created_at, id);
CREATE INDEX dns_records_failures_idx       ON dns_records (tenant_id, sync_status, updated_at)
    WHERE sync_status <> 'synced';

CREATE TABLE certificates (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    domain_id       BLOB        NULL REFERENCES domains (id) ON DELETE RESTRICT,
    zone_id         BLOB        NULL REFERENCES dns_zones (id) ON DELETE RESTRICT,
    service_id      BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    common_name     TEXT        NOT NULL,
    san             TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(san)),
    provider        TEXT        NOT NULL DEFAULT 'autossl'
                                CHECK (provider IN ('autossl', 'letsencrypt', 'cloudflare', 'custom')),
    issuer          TEXT        NULL,
    status          TEXT        NOT NULL DEFAULT 'pending'
                                CHECK (status IN ('pending', 'active', 'expiring', 'expired', 'failed', 'revoked')),
    not_before      TEXT        NULL,
    not_after       TEXT        NULL,
    auto_renew      BOOLEAN     NOT NULL DEFAULT 1 CHECK (auto_renew IN (0, 1)),
    last_checked_at TEXT        NULL,
    last_error      TEXT        NULL,
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id         BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    customer_id       BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    requester_user_id BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    service_id        BLOB        NULL REFERENCES services (id) ON DELETE RESTRICT,
    assigned_to       BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    subject           TEXT        NOT NULL,
    status            TEXT        NOT NULL DEFAULT 'open'
                                  CHECK (status IN ('open', 'in_progress', 'waiting_customer', 'resolved', 'closed')),
    priority          TEXT        NOT NULL DEFAULT 'medium'
                                  CHECK (priority IN ('low', 'medium', 'high', 'urgent')),
    tier              TEXT        NOT NULL DEFAULT 'basic'
                                  CHECK (tier IN ('free', 'basic', 'pro', 'enterprise')),
    source            TEXT        NOT NULL DEFAULT 'panel'
                                  CHECK (source IN ('panel', 'email', 'whatsapp', 'api', 'system')),
    sla_due_at        TEXT        NULL,
    first_response_at TEXT        NULL,
    resolved_at       TEXT        NULL,
    closed_at         TEXT        NULL,
    created_at        TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at        TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                 BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id          BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    ticket_id          BLOB        NOT NULL REFERENCES tickets (id) ON DELETE CASCADE,
    author_user_id     BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    author_customer_id BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    body               TEXT        NOT NULL,
    internal           BOOLEAN     NOT NULL DEFAULT 0 CHECK (internal IN (0, 1)),
    attachments        TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(attachments)),
    created_at         TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX ticket_messages_ticket_idx   ON ticket_messages (ticket_id, created_at, id);
CREATE INDEX ticket_messages_tenant_idx   ON ticket_messages (tenant_id);
CREATE INDEX ticket_messages_user_idx     ON ticket_messages (author_user_id);
CREATE INDEX ticket_messages_customer_idx ON ticket_messages (author_customer_id);

-- tenant_id NULL = platform default; a tenant row with the same (key, channel, locale)
-- overrides it.
CREATE TABLE message_templates (
    id         BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id  BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key        TEXT        NOT NULL, -- trial.created, invoice.reminder, line.expiring, password.reset, ...
    channel    TEXT        NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms', 'push', 'in_app')),
    locale     TEXT        NOT NULL DEFAULT 'pt-BR',
    subject    TEXT        NULL,
    body       TEXT        NOT NULL,
    enabled    BOOLEAN     NOT NULL DEFAULT 1 CHECK (enabled IN (0, 1)),
    created_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, key, channel, locale)
);
CREATE UNIQUE INDEX message_templates_global_uq ON message_templates (key, channel, locale) WHERE tenant_id IS NULL;
CREATE INDEX message_templates_tenant_key_idx ON message_templates (tenant_id, key, id);

-- Outbound messages (e-mail, WhatsApp via Evolution API, ...) and in-app notices. tenant_id
-- NULL = platform notice to staff. dedupe_key (e.g. "invoice:<id>:reminder:2") stops a
-- retried job from messaging a customer twice.
CREATE TABLE notifications (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    channel       TEXT        NOT NULL CHECK (channel IN ('email', 'whatsapp', 'sms', 'push', 'in_app')),
    template_id   BLOB        NULL REFERENCES message_templates (id) ON DELETE RESTRICT,
    user_id       BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    customer_id   BLOB        NULL REFERENCES customers (id) ON DELETE RESTRICT,
    recipient     TEXT        NOT NULL, -- e-mail address, E.164 phone, or user id for in_app
    subject       TEXT        NULL,
    body          TEXT        NOT NULL,
    variables     TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(variables)),
    status        TEXT        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'sending', 'sent', 'delivered', 'read', 'failed',
                                                'cancelled')),
    dedupe_key    TEXT        NULL,
    external_id   TEXT        NULL,
    attempts      INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    last_error    TEXT        NULL,
    scheduled_at  TEXT        NULL,
    sent_at       TEXT        NULL,
    read_at       TEXT        NULL,
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                  BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id           BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    server_id           BLOB        NULL REFERENCES servers (id) ON DELETE RESTRICT,
    streaming_server_id BLOB        NULL REFERENCES streaming_servers (id) ON DELETE RESTRICT,
    title               TEXT        NOT NULL,
    description         TEXT        NOT NULL DEFAULT '',
    severity            TEXT        NOT NULL DEFAULT 'medium'
                                    CHECK (severity IN ('low', 'medium', 'high', 'critical')),
    status              TEXT        NOT NULL DEFAULT 'investigating'
                                    CHECK (status IN ('investigating', 'identified', 'monitoring', 'resolved')),
    source              TEXT        NOT NULL DEFAULT 'manual'
                                    CHECK (source IN ('manual', 'health_check', 'job', 'webhook')),
    started_at          TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    acknowledged_at     TEXT        NULL,
    acknowledged_by     BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    resolved_at         TEXT        NULL,
    root_cause          TEXT        NULL,
    resolution_notes    TEXT        NULL,
    created_at          TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at          TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
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
    id                    BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id             BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    user_id               BLOB        NULL REFERENCES users (id) ON DELETE RESTRICT,
    name                  TEXT        NOT NULL,
    prefix                TEXT        NOT NULL UNIQUE,
    key_hash              TEXT        NOT NULL,
    scopes                TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(scopes) AND json_type(scopes) = 'array'),
    rate_limit_per_minute INTEGER     NULL CHECK (rate_limit_per_minute > 0),
    burst                 INTEGER     NULL CHECK (burst > 0),
    expires_at            TEXT        NULL,
    last_used_at          TEXT        NULL,
    last_used_source      TEXT        NULL,
    revoked_at            TEXT        NULL,
    created_at            TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at            TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now'))
);
CREATE INDEX api_keys_tenant_name_idx    ON api_keys (tenant_id, name, id);
CREATE INDEX api_keys_tenant_created_idx ON api_keys (tenant_id, created_at, id);
CREATE INDEX api_keys_user_idx           ON api_keys (user_id);

-- Credentials for external providers, per tenant (tenant_id NULL = the platform's own
-- account): a tenant's own Mercado Pago / Stripe account, a reseller's Namecheap API for
-- indirect domain sales, a tenant's Evolution (WhatsApp) instance, Cloudflare tokens.
-- config holds the non-secret part (account id, instance name, sandbox flag).
CREATE TABLE integrations (
    id                 BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id          BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    provider           TEXT        NOT NULL
                                   CHECK (provider IN ('stripe', 'mercadopago', 'pagseguro', 'cloudflare',
                                                       'namecheap', 'evolution', 'smtp', 'other')),
    name               TEXT        NOT NULL,
    status             TEXT        NOT NULL DEFAULT 'active'
                                   CHECK (status IN ('active', 'disabled', 'error')),
    config             TEXT        NOT NULL DEFAULT '{}' CHECK (json_valid(config)),
    secret_enc         BLOB        NULL,
    webhook_secret_enc BLOB        NULL,
    last_checked_at    TEXT        NULL,
    last_error         TEXT        NULL,
    created_at         TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at         TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, provider, name)
);
CREATE UNIQUE INDEX integrations_global_uq ON integrations (provider, name) WHERE tenant_id IS NULL;
CREATE INDEX integrations_tenant_name_idx ON integrations (tenant_id, name, id);

-- Inbound webhooks, recorded before processing. (provider, event_id) is unique so duplicated
-- deliveries are recognised (Stripe event id; Mercado Pago "type:data.id:action"; PagBank
-- charge id + status). tenant_id is filled once the event is matched to a payment.
CREATE TABLE webhook_events (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    provider        TEXT        NOT NULL
                                CHECK (provider IN ('stripe', 'mercadopago', 'pagseguro', 'evolution', 'other')),
    event_id        TEXT        NOT NULL,
    event_type      TEXT        NOT NULL DEFAULT '',
    signature_valid BOOLEAN     NOT NULL CHECK (signature_valid IN (0, 1)),
    status          TEXT        NOT NULL DEFAULT 'received'
                                CHECK (status IN ('received', 'processed', 'ignored', 'failed')),
    payload         TEXT        NULL CHECK (payload IS NULL OR json_valid(payload)),
    error           TEXT        NULL,
    received_at     TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    processed_at    TEXT        NULL,
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
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    queue         TEXT        NOT NULL DEFAULT 'default',
    kind          TEXT        NOT NULL,
    payload       TEXT        NOT NULL CHECK (json_valid(payload)),
    status        TEXT        NOT NULL DEFAULT 'queued'
                              CHECK (status IN ('queued', 'running', 'succeeded', 'failed', 'dead', 'cancelled')),
    attempts      INTEGER     NOT NULL DEFAULT 0 CHECK (attempts >= 0),
    max_attempts  INTEGER     NOT NULL DEFAULT 5 CHECK (max_attempts >= 1),
    run_at        TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    lease_until   TEXT        NULL,
    locked_by     TEXT        NULL,
    last_error    TEXT        NULL,
    error_history TEXT        NOT NULL DEFAULT '[]' CHECK (json_valid(error_history)),
    unique_key    TEXT        NULL,
    tenant_id     BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    enqueued_by   TEXT        NOT NULL DEFAULT 'system',
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    finished_at   TEXT        NULL
);
CREATE INDEX jobs_ready_idx ON jobs (queue, run_at, id) WHERE status = 'queued';
CREATE UNIQUE INDEX jobs_unique_key_uq ON jobs (unique_key) WHERE status IN ('queued', 'running');
CREATE INDEX jobs_status_updated_idx ON jobs (status, updated_at);
-- Lease reaper: running jobs whose worker stopped renewing.
CREATE INDEX jobs_lease_idx ON jobs (lease_until) WHERE status = 'running';
CREATE INDEX jobs_tenant_created_idx ON jobs (tenant_id, created_at, id);

-- Key/value settings. tenant_id NULL = platform default; a tenant row overrides it.
CREATE TABLE settings (
    id         BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id  BLOB        NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    key        TEXT        NOT NULL,
    value      TEXT        NOT NULL CHECK (json_valid(value)),
    updated_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (tenant_id, key)
);
CREATE UNIQUE INDEX settings_global_key_uq ON settings (key) WHERE tenant_id IS NULL;

-- Append-only audit trail (LGPD, compliance, legal defence). seq gives a total order for the
-- hash chain (hash = H(prev_hash || row)). No foreign keys on purpose: audit rows must outlive
-- the users, tenants and entities they mention. source = client IP or "tty:<host>".
CREATE TABLE audit_log (
    seq           INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    id            BLOB        NOT NULL UNIQUE CHECK (typeof(id) = 'blob' AND length(id) = 16),
    at            TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    actor_user_id BLOB        NULL
                              CHECK (actor_user_id IS NULL OR (typeof(actor_user_id) = 'blob' AND length(actor_user_id) = 16)),
    actor_name    TEXT        NOT NULL,
    actor_role    TEXT        NOT NULL,
    tenant_id     BLOB        NULL
                              CHECK (tenant_id IS NULL OR (typeof(tenant_id) = 'blob' AND length(tenant_id) = 16)),
    action        TEXT        NOT NULL,
    entity        TEXT        NOT NULL,
    entity_id     TEXT        NULL,
    before        TEXT        NULL CHECK (before IS NULL OR json_valid(before)),
    after         TEXT        NULL CHECK (after IS NULL OR json_valid(after)),
    source        TEXT        NOT NULL,
    prev_hash     TEXT        NULL,
    hash          TEXT        NULL
);
CREATE INDEX audit_log_at_idx        ON audit_log (at);
CREATE INDEX audit_log_tenant_at_idx ON audit_log (tenant_id, at);
CREATE INDEX audit_log_entity_idx    ON audit_log (entity, entity_id);
CREATE INDEX audit_log_actor_at_idx  ON audit_log (actor_name, at);
CREATE INDEX audit_log_action_at_idx ON audit_log (action, at);

-- Enforced in the database, not only in the service layer, so no code path (nor an operator
-- with a SQL prompt) can rewrite history. (SQLite has no TRUNCATE; DELETE covers it.)
CREATE TRIGGER audit_log_no_update
    BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete
    BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
