-- The WhatsApp Web session of each bot (Signal keys, app-state keys, device identity): one row
-- per item, its value sealed with ENCRYPTION_KEY and bound to (bot, kind, key). A restart, or
-- another instance, resumes the session from here without a new scan.
CREATE TABLE whatsapp_store (
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    kind TEXT NOT NULL,
    item_key TEXT NOT NULL,
    sealed BYTEA NOT NULL,
    -- A number some lookups range over: a pre-key id, or a Unix time for expiry sweeps.
    stamp BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, kind, item_key)
);
CREATE INDEX whatsapp_store_stamp ON whatsapp_store (bot_id, kind, stamp);

ALTER TABLE whatsapp_store ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON whatsapp_store
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
