-- Webhook intake and payment (docs/adr/0023-serve-and-webhook-intake.md).
-- `webhook_events` (0001) already holds what the intake records: provider, event_id unique
-- per provider, event_type, payload, status, received_at, processed_at. This migration adds
-- what makes out-of-order deliveries harmless in the database itself: an invoice, once paid,
-- leaves `paid` only by a refund.
CREATE FUNCTION painel_invoice_paid_stays_paid() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    IF OLD.status = 'paid' AND NEW.status NOT IN ('paid', 'refunded') THEN
        RAISE EXCEPTION 'a paid invoice stays paid (only a refund changes it)' USING ERRCODE = 'check_violation';
    END IF;
    RETURN NEW;
END
$$;
CREATE TRIGGER invoices_paid_stays_paid
BEFORE UPDATE OF status ON invoices
FOR EACH ROW EXECUTE FUNCTION painel_invoice_paid_stays_paid();
