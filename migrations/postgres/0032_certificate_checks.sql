-- SSL monitoring and AutoSSL (docs/adr/0032): what the last TLS check of a domain read
-- (check_status keeps the checker's own words; status stays the coarse lifecycle the older
-- readers use), when AutoSSL was last asked for, and one open incident per certificate.

ALTER TABLE certificates ADD COLUMN check_status text NULL
    CHECK (check_status IN ('valid', 'expiring', 'expired', 'missing', 'mismatch', 'untrusted', 'unreachable'));
ALTER TABLE certificates ADD COLUMN subject            text        NULL;
ALTER TABLE certificates ADD COLUMN fingerprint        text        NULL;
ALTER TABLE certificates ADD COLUMN renew_requested_at timestamptz NULL;
ALTER TABLE certificates ADD COLUMN renew_error        text        NULL;
CREATE INDEX certificates_check_idx ON certificates (check_status, not_after);
CREATE UNIQUE INDEX certificates_service_name_uq ON certificates (service_id, common_name)
    WHERE service_id IS NOT NULL;

ALTER TABLE incidents ADD COLUMN certificate_id uuid NULL REFERENCES certificates (id) ON DELETE RESTRICT;
CREATE UNIQUE INDEX incidents_certificate_open_uq ON incidents (certificate_id)
    WHERE certificate_id IS NOT NULL AND status <> 'resolved';
