-- Row-level security exists on PostgreSQL only (docs/adr/0009-row-level-security.md); an
-- embedded SQLite database has one process and one OS user, so tenant scoping is the
-- service layer's alone. This keeps the two migration histories numbered alike.
SELECT 1;
