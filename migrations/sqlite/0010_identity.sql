-- Logins, 2FA and step-up (docs/adr/0007-sessions-and-lockout.md).
-- totp_last_step: the RFC 6238 time step of the last accepted code; a code for that step or an
-- earlier one is refused, so a code seen over someone's shoulder cannot be replayed.
ALTER TABLE users ADD COLUMN totp_last_step INTEGER NULL;

-- When this session last presented a correct second factor: sensitive actions need one from
-- the last five minutes.
ALTER TABLE sessions ADD COLUMN totp_verified_at TEXT NULL;

-- Single-use 2FA recovery codes, stored as SHA-256 (the codes carry 80 random bits, so a fast
-- hash is enough). used_at is set when one is spent; regenerating deletes the old set.
CREATE TABLE recovery_codes (
    id         BLOB        NOT NULL PRIMARY KEY CHECK (typeof(id) = 'blob' AND length(id) = 16),
    user_id    BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash  TEXT        NOT NULL,
    used_at    TEXT        NULL,
    created_at TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    UNIQUE (user_id, code_hash)
);
