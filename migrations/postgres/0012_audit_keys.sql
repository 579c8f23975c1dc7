-- Keyed audit chain, registered master keys, and a hardened audit-head function
-- (docs/adr/0013-keyed-audit-and-registered-keys.md).

-- The master key whose derived chain key HMACs the row; NULL = a plain SHA-256 row written
-- before the chain was keyed (a legacy prefix; verify accepts none after the first keyed row).
ALTER TABLE audit_log ADD COLUMN key_id text NULL;

-- The master keys this deployment registered (`painel keys init`, `keys rotate`): id and a
-- key-check value (an HMAC under the key over a fixed label), never the key. Sealing or
-- opening under a key not listed here is refused. Platform-wide, holds no tenant data.
CREATE TABLE master_keys (
    key_id        text        PRIMARY KEY CHECK (key_id ~ '^[0-9a-f]{8}$'),
    check_value   text        NOT NULL CHECK (check_value ~ '^[0-9a-f]{32}$'),
    registered_at timestamptz NOT NULL,
    retired_at    timestamptz NULL
);

-- The head of the chain, for appends made in a tenant-scoped transaction (row-level security
-- hides other tenants' rows from it). Owner's rights, so: a fixed search_path (nothing a
-- caller puts in its own schema is resolved) and fully qualified names. It returns seq, the
-- keyed hash and the key id of the newest row only: a keyed hash is an HMAC output and tells
-- nothing of the row's content, and seq is no more than a tenant already sees in the seq
-- numbers of its own rows (docs/adr/0013).
DROP FUNCTION public.painel_audit_head();
CREATE FUNCTION public.painel_audit_head() RETURNS TABLE (seq bigint, hash text, key_id text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = pg_catalog AS
$$ SELECT a.seq, a.hash, a.key_id FROM public.audit_log AS a ORDER BY a.seq DESC LIMIT 1 $$;
