-- Stripe: Checkout Sessions painel created, and refunds (docs/adr/0028-stripe-client-refunds-disputes.md).
-- A checkout session is an attempt to collect, not money: it is kept apart from `payments`,
-- which holds only money that moved (settled through billing::settle). A refund is asked for
-- by an operator (a sensitive action), carried out by the `billing.refund` job, and confirmed
-- by the job's answer or by `charge.refunded`, whichever comes first.
CREATE TABLE checkout_sessions (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id      uuid        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider        text        NOT NULL DEFAULT 'stripe' CHECK (provider IN ('stripe')),
    mode            text        NOT NULL CHECK (mode IN ('payment', 'subscription')),
    status          text        NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'open', 'complete', 'expired', 'failed')),
    external_id     text        NULL,
    url             text        NULL,
    amount_minor    bigint      NOT NULL CHECK (amount_minor >= 0),
    currency        text        NOT NULL CHECK (length(currency) = 3),
    idempotency_key text        NOT NULL UNIQUE,
    expires_at      timestamptz NULL,
    error           text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX checkout_sessions_invoice_idx ON checkout_sessions (invoice_id, created_at);
CREATE INDEX checkout_sessions_tenant_idx ON checkout_sessions (tenant_id, created_at, id);

CREATE TABLE refunds (
    id              uuid        NOT NULL PRIMARY KEY,
    tenant_id       uuid        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    payment_id      uuid        NOT NULL REFERENCES payments (id) ON DELETE RESTRICT,
    provider        text        NOT NULL CHECK (provider IN ('stripe')),
    external_id     text        NULL,
    status          text        NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'pending', 'succeeded', 'failed', 'cancelled')),
    amount_minor    bigint      NOT NULL CHECK (amount_minor > 0),
    currency        text        NOT NULL CHECK (length(currency) = 3),
    reason          text        NOT NULL,
    requested_by    text        NOT NULL,
    error           text        NULL,
    created_at      timestamptz NOT NULL DEFAULT now(),
    updated_at      timestamptz NOT NULL DEFAULT now(),
    UNIQUE (provider, external_id)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);
CREATE INDEX refunds_tenant_idx ON refunds (tenant_id, created_at, id);

ALTER TABLE checkout_sessions ENABLE ROW LEVEL SECURITY;
ALTER TABLE checkout_sessions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON checkout_sessions USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE refunds ENABLE ROW LEVEL SECURITY;
ALTER TABLE refunds FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON refunds USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
