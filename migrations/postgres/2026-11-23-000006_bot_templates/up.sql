-- Bot templates (the catalogue the binary ships), each bot's own settings (a copy of a
-- template, edited by its workspace), per-contact conversation state for multi-step flows,
-- blocked numbers, the owner's notes, and the onboarding wizard's progress.
CREATE TABLE bot_templates (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    category TEXT NOT NULL,
    position INTEGER NOT NULL,
    premium BOOLEAN NOT NULL,
    -- The typed definition, as JSON.
    definition TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE bot_configs (
    bot_id TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    template_id TEXT,
    -- The bot's settings, commands, keywords, menu and flows, as JSON.
    config TEXT NOT NULL,
    paused BOOLEAN NOT NULL DEFAULT FALSE,
    updated_at TIMESTAMP NOT NULL
);

CREATE TABLE conversations (
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    contact_number TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    flow TEXT NOT NULL,
    step TEXT NOT NULL,
    -- Answers so far, as JSON.
    answers TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL,
    PRIMARY KEY (bot_id, contact_number)
);

CREATE TABLE blocked_numbers (
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    number TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (bot_id, number)
);

CREATE TABLE bot_notes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX bot_notes_by_bot ON bot_notes (bot_id, created_at);

CREATE TABLE onboarding (
    tenant_id TEXT PRIMARY KEY REFERENCES tenants (id) ON DELETE CASCADE,
    step TEXT NOT NULL,
    bot_id TEXT REFERENCES bots (id) ON DELETE SET NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Row-level security on the tenant-owned tables, as for the bots (2026-11-23-000003_bots).
ALTER TABLE bot_configs ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bot_configs
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE conversations ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON conversations
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE blocked_numbers ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON blocked_numbers
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE bot_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON bot_notes
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE onboarding ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON onboarding
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
