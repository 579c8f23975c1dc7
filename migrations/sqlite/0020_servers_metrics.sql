-- Servers as a real capability (docs/adr/0020): the poller's health state on the row, the
-- answer of the last connection test, hourly downsampling of the time series, and one open
-- health-check incident per server at most.

ALTER TABLE servers ADD COLUMN last_error           TEXT    NULL;
ALTER TABLE servers ADD COLUMN last_checked_at      TEXT    NULL;
ALTER TABLE servers ADD COLUMN last_ok_at           TEXT    NULL;
ALTER TABLE servers ADD COLUMN consecutive_failures INTEGER NOT NULL DEFAULT 0 CHECK (consecutive_failures >= 0);
ALTER TABLE servers ADD COLUMN whm_version          TEXT    NULL;
ALTER TABLE servers ADD COLUMN last_test_at         TEXT    NULL;
ALTER TABLE servers ADD COLUMN last_test_error      TEXT    NULL;

-- 'raw' points are kept 48 h, then folded into one 'hour' point per server and hour
-- (samples = how many raw points it averages).
ALTER TABLE server_metrics ADD COLUMN resolution   TEXT    NOT NULL DEFAULT 'raw' CHECK (resolution IN ('raw', 'hour'));
ALTER TABLE server_metrics ADD COLUMN bandwidth_mb INTEGER NULL CHECK (bandwidth_mb >= 0);
ALTER TABLE server_metrics ADD COLUMN samples      INTEGER NOT NULL DEFAULT 1 CHECK (samples >= 1);
CREATE INDEX server_metrics_resolution_at_idx ON server_metrics (resolution, at);
CREATE UNIQUE INDEX server_metrics_hour_uq ON server_metrics (server_id, at) WHERE resolution = 'hour';

CREATE UNIQUE INDEX incidents_server_open_uq ON incidents (server_id)
    WHERE server_id IS NOT NULL AND source = 'health_check' AND status <> 'resolved';
