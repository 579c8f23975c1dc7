-- `painel find` and the palette's "go to" (docs/adr/0017). Customers' substring search uses
-- the pg_trgm GIN index on customers.search_text (0001); these serve the exact lookups: a
-- customer's document (CPF/CNPJ digits), an invoice's number.
CREATE INDEX customers_document_idx ON customers (document);
CREATE INDEX invoices_number_idx    ON invoices (number);
-- A whole e-mail address finds its customer without the trigram index (whose cost grows
-- with the term's length).
CREATE INDEX customers_email_idx    ON customers (email);
