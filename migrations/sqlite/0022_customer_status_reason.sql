-- Why a customer is blocked (customers::block): shown on the customer screen next to the
-- status; cleared when unblocked. The audit log keeps every past reason.
ALTER TABLE customers ADD COLUMN status_reason TEXT NULL;
