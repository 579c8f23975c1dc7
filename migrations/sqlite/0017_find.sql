-- `painel find` and the palette's "go to" (docs/adr/0017): indexed lookups for every kind of
-- term on 100k+ customers.
-- Customers' substring search (name and e-mail, in search_text) through an FTS5 trigram index,
-- built like tenant_search (0002): a side table with a stable INTEGER PRIMARY KEY for FTS's
-- rowid, kept by triggers. PostgreSQL has the pg_trgm GIN index on customers.search_text (0001).
-- customer_search* are SQLite-only index structures, left out of the schema parity test.

CREATE TABLE customer_search (
    n           INTEGER PRIMARY KEY,
    customer_id BLOB    NOT NULL UNIQUE,
    search_text TEXT    NOT NULL
);

CREATE VIRTUAL TABLE customer_search_fts USING fts5 (
    search_text,
    content = 'customer_search',
    content_rowid = 'n',
    tokenize = 'trigram'
);

CREATE TRIGGER customer_search_after_insert AFTER INSERT ON customer_search BEGIN
    INSERT INTO customer_search_fts (rowid, search_text) VALUES (new.n, new.search_text);
END;

CREATE TRIGGER customer_search_after_delete AFTER DELETE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, search_text) VALUES ('delete', old.n, old.search_text);
END;

CREATE TRIGGER customer_search_after_update AFTER UPDATE ON customer_search BEGIN
    INSERT INTO customer_search_fts (customer_search_fts, rowid, search_text) VALUES ('delete', old.n, old.search_text);
    INSERT INTO customer_search_fts (rowid, search_text) VALUES (new.n, new.search_text);
END;

CREATE TRIGGER customers_search_after_insert AFTER INSERT ON customers BEGIN
    INSERT INTO customer_search (customer_id, search_text) VALUES (new.id, new.search_text);
END;

CREATE TRIGGER customers_search_after_update AFTER UPDATE OF search_text ON customers BEGIN
    UPDATE customer_search SET search_text = new.search_text WHERE customer_id = new.id;
END;

CREATE TRIGGER customers_search_after_delete AFTER DELETE ON customers BEGIN
    DELETE FROM customer_search WHERE customer_id = old.id;
END;

INSERT INTO customer_search (customer_id, search_text) SELECT id, search_text FROM customers;

-- Exact lookups: a customer's document (CPF/CNPJ digits), an invoice's number, an e-mail.
CREATE INDEX customers_document_idx ON customers (document);
CREATE INDEX invoices_number_idx    ON invoices (number);
-- A whole e-mail address finds its customer without the trigram index (whose cost grows
-- with the term's length).
CREATE INDEX customers_email_idx    ON customers (email);
