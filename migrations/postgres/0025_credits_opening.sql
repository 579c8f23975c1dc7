-- Opening balances (docs/adr/0025): seed 003's single-entry credit_transactions come into the
-- double-entry ledger against one `opening` account per tenant and currency.
ALTER TABLE credit_accounts DROP CONSTRAINT credit_accounts_kind_check;
ALTER TABLE credit_accounts ADD CONSTRAINT credit_accounts_kind_check
    CHECK (kind IN ('reseller', 'sales', 'commissions', 'purchases', 'opening'));
