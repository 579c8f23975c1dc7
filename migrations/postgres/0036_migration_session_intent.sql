-- The intent to create a WHM transfer session, recorded before the call (docs/adr/0030): a run
-- that finds it set without a session id knows WHM may hold a session we never heard of, says
-- so in the log and counts it (lost_sessions) before asking for a new one.
ALTER TABLE migrations ADD COLUMN session_requested_at timestamptz NULL;
ALTER TABLE migrations ADD COLUMN lost_sessions bigint NOT NULL DEFAULT 0 CHECK (lost_sessions >= 0);
