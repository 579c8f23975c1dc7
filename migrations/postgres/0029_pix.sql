-- PIX (docs/adr/0029): a tenant's own PIX key for static BR Codes, and the PIX charges
-- painel issues for invoices (a static code, or a Mercado Pago / PagSeguro charge created by
-- the billing.pix_charge job). A charge is never proof of payment: only a verified webhook
-- whose payment the job fetched settles the invoice (billing::settle).
CREATE TABLE pix_settings (
    tenant_id     uuid        NOT NULL PRIMARY KEY REFERENCES tenants (id) ON DELETE RESTRICT,
    provider      text        NOT NULL CHECK (provider IN ('static', 'mercadopago', 'pagseguro')),
    key_kind      text        NULL CHECK (key_kind IN ('cpf', 'cnpj', 'email', 'phone', 'evp')),
    key_value     text        NULL,
    merchant_name text        NOT NULL,
    merchant_city text        NOT NULL,
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK ((key_kind IS NULL) = (key_value IS NULL)),
    CHECK (provider <> 'static' OR key_value IS NOT NULL)
);

CREATE TABLE pix_charges (
    id            uuid        NOT NULL PRIMARY KEY,
    tenant_id     uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id    uuid        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider      text        NOT NULL CHECK (provider IN ('static', 'mercadopago', 'pagseguro')),
    status        text        NOT NULL DEFAULT 'requested'
                              CHECK (status IN ('requested', 'active', 'failed', 'paid', 'expired')),
    external_id   text        NULL,
    code          text        NULL,
    amount_minor  bigint      NOT NULL CHECK (amount_minor > 0),
    currency      text        NOT NULL CHECK (length(currency) = 3),
    expires_at    timestamptz NULL,
    error         text        NULL,
    created_at    timestamptz NOT NULL DEFAULT now(),
    updated_at    timestamptz NOT NULL DEFAULT now(),
    CHECK (status <> 'active' OR code IS NOT NULL)
);
CREATE UNIQUE INDEX pix_charges_external_uq ON pix_charges (provider, external_id) WHERE external_id IS NOT NULL;
CREATE INDEX pix_charges_invoice_idx ON pix_charges (invoice_id, created_at);
CREATE INDEX pix_charges_tenant_idx ON pix_charges (tenant_id, created_at);

ALTER TABLE pix_settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE pix_settings FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pix_settings USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE pix_charges ENABLE ROW LEVEL SECURITY;
ALTER TABLE pix_charges FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON pix_charges USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
