-- Migrations through the WHM Transfer Tool (docs/adr/0030-transfers.md): how the source is
-- reached (auth_kind, ssh_port, the sealed credentials — wiped when the migration ends),
-- which accounts move, the WHM session and how far the job got (step, enqueued, log_seen),
-- per-stage progress, automatic retries (attempts), the fencing token of the step jobs
-- (tick), an abort asked for, and the incident a critical failure opened.
ALTER TABLE migrations ADD COLUMN auth_kind text NOT NULL DEFAULT 'root' CHECK (auth_kind IN ('root', 'user'));
ALTER TABLE migrations ADD COLUMN accounts text NOT NULL DEFAULT '[]';
ALTER TABLE migrations ADD COLUMN ssh_port bigint NULL CHECK (ssh_port BETWEEN 1 AND 65535);
ALTER TABLE migrations ADD COLUMN credentials_enc bytea NULL;
ALTER TABLE migrations ADD COLUMN transfer_session_id text NULL;
ALTER TABLE migrations ADD COLUMN step text NOT NULL DEFAULT 'done'
    CHECK (step IN ('validate', 'create', 'enqueue', 'start', 'monitor', 'finish', 'done'));
ALTER TABLE migrations ADD COLUMN enqueued bigint NOT NULL DEFAULT 0 CHECK (enqueued >= 0);
ALTER TABLE migrations ADD COLUMN stage_progress text NOT NULL DEFAULT '{}';
ALTER TABLE migrations ADD COLUMN log_seen bigint NOT NULL DEFAULT 0 CHECK (log_seen >= 0);
ALTER TABLE migrations ADD COLUMN attempts bigint NOT NULL DEFAULT 0 CHECK (attempts >= 0);
ALTER TABLE migrations ADD COLUMN tick bigint NOT NULL DEFAULT 0;
ALTER TABLE migrations ADD COLUMN abort_requested boolean NOT NULL DEFAULT false;
ALTER TABLE migrations ADD COLUMN incident_id uuid NULL REFERENCES incidents (id) ON DELETE SET NULL;
CREATE INDEX migrations_step_idx ON migrations (step) WHERE step <> 'done';
