-- Stripe: Checkout Sessions painel created, and refunds (docs/adr/0028-stripe-client-refunds-disputes.md).
-- A checkout session is an attempt to collect, not money: it is kept apart from `payments`,
-- which holds only money that moved (settled through billing::settle). A refund is asked for
-- by an operator (a sensitive action), carried out by the `billing.refund` job, and confirmed
-- by the job's answer or by `charge.refunded`, whichever comes first.
CREATE TABLE checkout_sessions (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    invoice_id      BLOB        NOT NULL REFERENCES invoices (id) ON DELETE RESTRICT,
    provider        TEXT        NOT NULL DEFAULT 'stripe' CHECK (provider IN ('stripe')),
    mode            TEXT        NOT NULL CHECK (mode IN ('payment', 'subscription')),
    status          TEXT        NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'open', 'complete', 'expired', 'failed')),
    external_id     TEXT        NULL,
    url             TEXT        NULL,
    amount_minor    INTEGER     NOT NULL CHECK (amount_minor >= 0),
    currency        TEXT        NOT NULL CHECK (length(currency) = 3),
    idempotency_key TEXT        NOT NULL UNIQUE,
    expires_at      TEXT        NULL,
    error           TEXT        NULL,
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (provider, external_id)
);
CREATE INDEX checkout_sessions_invoice_idx ON checkout_sessions (invoice_id, created_at);
CREATE INDEX checkout_sessions_tenant_idx ON checkout_sessions (tenant_id, created_at, id);

CREATE TABLE refunds (
    id              BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    tenant_id       BLOB        NOT NULL REFERENCES tenants (id) ON DELETE RESTRICT,
    payment_id      BLOB        NOT NULL REFERENCES payments (id) ON DELETE RESTRICT,
    provider        TEXT        NOT NULL CHECK (provider IN ('stripe')),
    external_id     TEXT        NULL,
    status          TEXT        NOT NULL DEFAULT 'requested'
                                CHECK (status IN ('requested', 'pending', 'succeeded', 'failed', 'cancelled')),
    amount_minor    INTEGER     NOT NULL CHECK (amount_minor > 0),
    currency        TEXT        NOT NULL CHECK (length(currency) = 3),
    reason          TEXT        NOT NULL,
    requested_by    TEXT        NOT NULL,
    error           TEXT        NULL,
    created_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    updated_at      TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (provider, external_id)
);
CREATE INDEX refunds_payment_idx ON refunds (payment_id, created_at);
CREATE INDEX refunds_tenant_idx ON refunds (tenant_id, created_at, id);
