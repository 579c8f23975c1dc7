-- Read-only accounts (docs/adr/0016): on-call staff who may look at everything their role
-- reads and change nothing, whatever their role's grants say. The service layer's gate
-- (`authz::require`) refuses every mutating permission to such an account's actor.
ALTER TABLE users ADD COLUMN read_only BOOLEAN NOT NULL DEFAULT 0 CHECK (read_only IN (0, 1));
