-- SSL monitoring and AutoSSL (docs/adr/0032); see the PostgreSQL file.

ALTER TABLE certificates ADD COLUMN check_status TEXT NULL
    CHECK (check_status IN ('valid', 'expiring', 'expired', 'missing', 'mismatch', 'untrusted', 'unreachable'));
ALTER TABLE certificates ADD COLUMN subject            TEXT NULL;
ALTER TABLE certificates ADD COLUMN fingerprint        TEXT NULL;
ALTER TABLE certificates ADD COLUMN renew_requested_at TEXT NULL;
ALTER TABLE certificates ADD COLUMN renew_error        TEXT NULL;
CREATE INDEX certificates_check_idx ON certificates (check_status, not_after);
CREATE UNIQUE INDEX certificates_service_name_uq ON certificates (service_id, common_name)
    WHERE service_id IS NOT NULL;

ALTER TABLE incidents ADD COLUMN certificate_id BLOB NULL REFERENCES certificates (id) ON DELETE RESTRICT;
CREATE UNIQUE INDEX incidents_certificate_open_uq ON incidents (certificate_id)
    WHERE certificate_id IS NOT NULL AND status <> 'resolved';
