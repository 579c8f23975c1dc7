-- Operators' SSH public keys (docs/adr/0012-jump-host.md). The numeric id goes into the
-- forced command of authorized_keys (`painel ssh-session --key <id>`): sshd runs that line
-- through the shell, so it must be digits only. public_key is the re-serialised `type base64`
-- (never the comment the user pasted); label is the sanitised comment, shown in lists only.
CREATE TABLE ssh_keys (
    id          INTEGER     NOT NULL PRIMARY KEY AUTOINCREMENT,
    user_id     BLOB        NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    key_type    TEXT        NOT NULL,
    public_key  TEXT        NOT NULL UNIQUE,
    fingerprint TEXT        NOT NULL UNIQUE,
    label       TEXT        NOT NULL DEFAULT '',
    created_at  TEXT        NOT NULL DEFAULT (strftime('%Y-%m-%dT%H:%M:%fZ','now')),
    created_by  TEXT        NOT NULL,
    last_used_at TEXT       NULL
);
CREATE INDEX ssh_keys_user_idx ON ssh_keys (user_id);

-- The key a session was opened with (ssh-session): removing the key revokes its sessions.
ALTER TABLE sessions ADD COLUMN ssh_key_id INTEGER NULL;
CREATE INDEX sessions_ssh_key_idx ON sessions (ssh_key_id) WHERE ssh_key_id IS NOT NULL;
