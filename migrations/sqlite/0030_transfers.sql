-- Migrations through the WHM Transfer Tool (docs/adr/0030-transfers.md); see the PostgreSQL file.
ALTER TABLE migrations ADD COLUMN auth_kind TEXT NOT NULL DEFAULT 'root' CHECK (auth_kind IN ('root', 'user'));
ALTER TABLE migrations ADD COLUMN accounts TEXT NOT NULL DEFAULT '[]';
ALTER TABLE migrations ADD COLUMN ssh_port INTEGER NULL CHECK (ssh_port BETWEEN 1 AND 65535);
ALTER TABLE migrations ADD COLUMN credentials_enc BLOB NULL;
ALTER TABLE migrations ADD COLUMN transfer_session_id TEXT NULL;
ALTER TABLE migrations ADD COLUMN step TEXT NOT NULL DEFAULT 'done'
    CHECK (step IN ('validate', 'create', 'enqueue', 'start', 'monitor', 'finish', 'done'));
ALTER TABLE migrations ADD COLUMN enqueued INTEGER NOT NULL DEFAULT 0 CHECK (enqueued >= 0);
ALTER TABLE migrations ADD COLUMN stage_progress TEXT NOT NULL DEFAULT '{}';
ALTER TABLE migrations ADD COLUMN log_seen INTEGER NOT NULL DEFAULT 0 CHECK (log_seen >= 0);
ALTER TABLE migrations ADD COLUMN attempts INTEGER NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE migrations ADD COLUMN tick INTEGER NOT NULL DEFAULT 0;
ALTER TABLE migrations ADD COLUMN abort_requested BOOLEAN NOT NULL DEFAULT 0 CHECK (abort_requested IN (0, 1));
ALTER TABLE migrations ADD COLUMN incident_id BLOB NULL REFERENCES incidents (id) ON DELETE SET NULL;
CREATE INDEX migrations_step_idx ON migrations (step) WHERE step <> 'done';
