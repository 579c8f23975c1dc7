-- PIX (docs/adr/0029): a tenant's own PIX key for static BR Codes, and the PIX charges
-- painel issues for invoices (a static code, or a Mercado Pago / PagSeguro charge created by
-- the billing.pix_charge job). A charge is never proof of payment: only a verified webhook
-- whose payment the job fetched settles the invoice (billing::settle).
CREATE TABLE pix_settings (
    tenant_id     BLOB        NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE RESTRICT,
    provider      TEXT        NOT NULL CHECK (provider IN ('static', 'mercadopago', 'pagseguro')),
    key_kind      TEXT        NULL CHECK (key_kind IN ('cpf', 'cnpj', 'email', 'phone', 'evp')),
    key_value     TEXT        NULL,
    merchant_name TEXT        NOT NULL,
    merchant_city TEXT        NOT NULL,
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK ((key_kind IS NULL) = (key_value IS NULL)),
    CHECK (provider <> 'static' OR key_value IS NOT NULL)
);

CREATE TABLE pix_charges (
    id            BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id     BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id    BLOB        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider      TEXT        NOT NULL CHECK (provider IN ('static', 'mercadopago', 'pagseguro')),
    status        TEXT        NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'active', 'failed', 'paid', 'expired')),
    external_id   TEXT        NULL,
    code          TEXT        NULL,
    amount_minor  INTEGER     NOT NULL CHECK (amount_minor > 0),
    currency      TEXT        NOT NULL CHECK (length(currency) = 3),
    expires_at    TEXT        NULL,
    error         TEXT        NULL,
    created_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at    TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    CHECK (status <> 'active' OR code IS NOT NULL)
);
CREATE UNIQUE INDEX pix_charges_external_uq ON pix_charges (provider, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX pix_charges_invoice_idx ON pix_charges (invoice_id, created_at);
CREATE INDEX pix_charges_tenant_idx ON pix_charges (tenant_id, created_at);
