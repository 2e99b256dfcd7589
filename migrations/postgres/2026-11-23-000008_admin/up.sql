-- The platform admin: tenant suspension and a hand-set plan, daily roll-ups kept as messages
-- flow (so the admin pages never scan `messages`), recent platform errors, and an index for
-- every admin query.

-- A suspended workspace's bots stop and its members cannot sign in to it.
ALTER TABLE tenants ADD COLUMN suspended_at TIMESTAMP;
ALTER TABLE tenants ADD COLUMN suspended_reason TEXT;
-- A plan set by a platform admin; it wins over the subscription while set. No foreign key,
-- so that SQLite can drop the column again; the service checks the plan exists.
ALTER TABLE tenants ADD COLUMN plan_override TEXT;
CREATE INDEX tenants_by_created ON tenants (created_at);
CREATE INDEX tenants_suspended ON tenants (suspended_at) WHERE suspended_at IS NOT NULL;
CREATE INDEX bots_by_status ON bots (status);

-- Messages per bot per UTC day. No foreign key to bots: usage history outlives a deleted bot.
CREATE TABLE message_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL,
    day DATE NOT NULL,
    messages_in BIGINT NOT NULL DEFAULT 0,
    messages_out BIGINT NOT NULL DEFAULT 0,
    ai_replies BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, day)
);
-- Platform totals and top tenants read a day range; covering, so no heap visits.
CREATE INDEX message_rollups_by_day ON message_rollups (day, tenant_id)
    INCLUDE (messages_in, messages_out, ai_replies);
CREATE INDEX message_rollups_by_tenant ON message_rollups (tenant_id, day);

-- Platform totals per day, split over 8 shards (by bot) so that concurrent message
-- transactions rarely wait on the same row; the dashboard sums at most 8 rows a day.
CREATE TABLE platform_rollups (
    day DATE NOT NULL,
    shard INTEGER NOT NULL,
    messages_in BIGINT NOT NULL DEFAULT 0,
    messages_out BIGINT NOT NULL DEFAULT 0,
    ai_replies BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (day, shard)
);

-- Messages per tenant per month and its last active day: top tenants and "active in 7 days"
-- read at most one row per tenant.
CREATE TABLE tenant_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    month DATE NOT NULL,
    messages BIGINT NOT NULL DEFAULT 0,
    last_day DATE NOT NULL,
    PRIMARY KEY (tenant_id, month)
);
CREATE INDEX tenant_rollups_top ON tenant_rollups (month, messages);
CREATE INDEX tenant_rollups_last_day ON tenant_rollups (last_day);

-- Commands used, per bot per day (the first word of a message the router answered).
CREATE TABLE command_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL,
    day DATE NOT NULL,
    command TEXT NOT NULL,
    uses BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, day, command)
);
CREATE INDEX command_rollups_by_tenant ON command_rollups (tenant_id, day);

-- Reply times (inbound stored → reply sent) as a histogram per bot per day: `bucket_ms` is
-- the bucket's upper bound. A median comes from the buckets without reading each reply.
CREATE TABLE reply_time_rollups (
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL,
    day DATE NOT NULL,
    bucket_ms BIGINT NOT NULL,
    replies BIGINT NOT NULL DEFAULT 0,
    PRIMARY KEY (bot_id, day, bucket_ms)
);
CREATE INDEX reply_time_rollups_by_tenant ON reply_time_rollups (tenant_id, day);

-- Failures operators should see: bot task crashes, rejected webhooks.
CREATE TABLE platform_errors (
    id TEXT PRIMARY KEY,
    kind TEXT NOT NULL,
    tenant_id TEXT REFERENCES tenants (id) ON DELETE CASCADE,
    subject TEXT,
    detail TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX platform_errors_recent ON platform_errors (created_at);

-- The admin's audit page per tenant reads audit_events by tenant (index exists since 000002).

ALTER TABLE message_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON message_rollups
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE tenant_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON tenant_rollups
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE command_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON command_rollups
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE reply_time_rollups ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON reply_time_rollups
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE platform_errors ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON platform_errors
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
