-- Row-level security: defence in depth behind the service layer's tenant scoping
-- (docs/adr/0009-row-level-security.md). A transaction of a tenant-scoped actor sets
-- painel.tenant_id (set_config(..., true): transaction-local); then every tenant-owned table
-- shows and accepts only that tenant's rows, whatever the SQL says. Platform staff and the
-- system run without the setting and see every row. FORCE makes the table owner obey too;
-- only superusers and BYPASSRLS roles (the migration owner) pass. The application connects
-- as a role that is neither (see README, "PostgreSQL roles").

CREATE FUNCTION painel_scope() RETURNS uuid LANGUAGE sql STABLE AS
$$ SELECT nullif(current_setting('painel.tenant_id', true), '')::uuid $$;

CREATE FUNCTION painel_visible(t uuid) RETURNS boolean LANGUAGE sql STABLE AS
$$ SELECT painel_scope() IS NULL OR t = painel_scope() $$;

-- The audit chain is global: a scoped append must link to the newest row of any tenant,
-- which its own view cannot see. This returns only that row's seq and hash, with the
-- owner's rights.
CREATE FUNCTION painel_audit_head() RETURNS TABLE (seq bigint, hash text)
LANGUAGE sql STABLE SECURITY DEFINER SET search_path = public AS
$$ SELECT seq, hash FROM audit_log ORDER BY seq DESC LIMIT 1 $$;

ALTER TABLE tenants ENABLE ROW LEVEL SECURITY;
ALTER TABLE tenants FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenants USING (painel_visible(id)) WITH CHECK (painel_visible(id));

-- Tenant-owned rows: visible and writable in their tenant's scope only.
ALTER TABLE users ENABLE ROW LEVEL SECURITY;
ALTER TABLE users FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON users USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE servers ENABLE ROW LEVEL SECURITY;
ALTER TABLE servers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON servers USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE customers ENABLE ROW LEVEL SECURITY;
ALTER TABLE customers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON customers USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE plans ENABLE ROW LEVEL SECURITY;
ALTER TABLE plans FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON plans USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE addons ENABLE ROW LEVEL SECURITY;
ALTER TABLE addons FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON addons USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE services ENABLE ROW LEVEL SECURITY;
ALTER TABLE services FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON services USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE service_addons ENABLE ROW LEVEL SECURITY;
ALTER TABLE service_addons FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON service_addons USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE invoices ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoices FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoices USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE invoice_items ENABLE ROW LEVEL SECURITY;
ALTER TABLE invoice_items FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON invoice_items USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE payments ENABLE ROW LEVEL SECURITY;
ALTER TABLE payments FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON payments USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE disputes ENABLE ROW LEVEL SECURITY;
ALTER TABLE disputes FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON disputes USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE streaming_servers ENABLE ROW LEVEL SECURITY;
ALTER TABLE streaming_servers FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON streaming_servers USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE lines ENABLE ROW LEVEL SECURITY;
ALTER TABLE lines FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON lines USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE sync_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE sync_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON sync_log USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE trials ENABLE ROW LEVEL SECURITY;
ALTER TABLE trials FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON trials USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE credit_transactions ENABLE ROW LEVEL SECURITY;
ALTER TABLE credit_transactions FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON credit_transactions USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE migrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE migrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON migrations USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE migration_logs ENABLE ROW LEVEL SECURITY;
ALTER TABLE migration_logs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON migration_logs USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE domains ENABLE ROW LEVEL SECURITY;
ALTER TABLE domains FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON domains USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE dns_zones ENABLE ROW LEVEL SECURITY;
ALTER TABLE dns_zones FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dns_zones USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE dns_records ENABLE ROW LEVEL SECURITY;
ALTER TABLE dns_records FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON dns_records USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE certificates ENABLE ROW LEVEL SECURITY;
ALTER TABLE certificates FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON certificates USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE tickets ENABLE ROW LEVEL SECURITY;
ALTER TABLE tickets FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tickets USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE ticket_messages ENABLE ROW LEVEL SECURITY;
ALTER TABLE ticket_messages FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON ticket_messages USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE notifications ENABLE ROW LEVEL SECURITY;
ALTER TABLE notifications FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON notifications USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE incidents ENABLE ROW LEVEL SECURITY;
ALTER TABLE incidents FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON incidents USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE api_keys ENABLE ROW LEVEL SECURITY;
ALTER TABLE api_keys FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON api_keys USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE integrations ENABLE ROW LEVEL SECURITY;
ALTER TABLE integrations FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON integrations USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE webhook_events ENABLE ROW LEVEL SECURITY;
ALTER TABLE webhook_events FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON webhook_events USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE jobs ENABLE ROW LEVEL SECURITY;
ALTER TABLE jobs FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON jobs USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE audit_log ENABLE ROW LEVEL SECURITY;
ALTER TABLE audit_log FORCE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON audit_log USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));

-- Shared catalogues: platform rows (tenant_id NULL) are readable by every tenant, which
-- writes only its own overrides.
ALTER TABLE roles ENABLE ROW LEVEL SECURITY;
ALTER TABLE roles FORCE ROW LEVEL SECURITY;
CREATE POLICY shared_read ON roles FOR SELECT USING (tenant_id IS NULL OR painel_visible(tenant_id));
CREATE POLICY tenant_write ON roles FOR ALL USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE role_permissions ENABLE ROW LEVEL SECURITY;
ALTER TABLE role_permissions FORCE ROW LEVEL SECURITY;
CREATE POLICY shared_read ON role_permissions FOR SELECT USING (tenant_id IS NULL OR painel_visible(tenant_id));
CREATE POLICY tenant_write ON role_permissions FOR ALL USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE message_templates ENABLE ROW LEVEL SECURITY;
ALTER TABLE message_templates FORCE ROW LEVEL SECURITY;
CREATE POLICY shared_read ON message_templates FOR SELECT USING (tenant_id IS NULL OR painel_visible(tenant_id));
CREATE POLICY tenant_write ON message_templates FOR ALL USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
ALTER TABLE settings ENABLE ROW LEVEL SECURITY;
ALTER TABLE settings FORCE ROW LEVEL SECURITY;
CREATE POLICY shared_read ON settings FOR SELECT USING (tenant_id IS NULL OR painel_visible(tenant_id));
CREATE POLICY tenant_write ON settings FOR ALL USING (painel_visible(tenant_id)) WITH CHECK (painel_visible(tenant_id));
