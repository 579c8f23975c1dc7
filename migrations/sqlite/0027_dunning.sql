-- Renewals and dunning (docs/adr/0027-renewals-and-dunning.md).
-- An invoice painel issues for a service period carries a key naming that period
-- (`order:<service>`, `renewal:<service>:<period start>`): the unique index makes issuing it
-- idempotent, so a renewal run repeated, or two racing, bill a period once. The check and the
-- insert share the invoice's transaction, which also takes its number: a lost race rolls the
-- number back (no gap).
ALTER TABLE invoices ADD COLUMN dedupe_key TEXT NULL;
CREATE UNIQUE INDEX invoices_dedupe_uq ON invoices (tenant_id, dedupe_key) WHERE dedupe_key IS NOT NULL;
-- Reminders and failures are read per invoice (the dunning timeline) and by status.
CREATE INDEX notifications_status_created_idx ON notifications (status, created_at);
