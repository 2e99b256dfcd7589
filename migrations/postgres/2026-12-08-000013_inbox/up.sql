-- The inbox. A thread is the workspace's conversation with one contact of one bot (the
-- `conversations` table is something else: where a contact is in a flow). It carries what the
-- team needs to see and decide: who holds it (a human takeover silences the bot until
-- `held_until`), who it is assigned to, whether it waits for the team, how much is unread,
-- and the last message for the list.
CREATE TABLE threads (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL UNIQUE REFERENCES contacts (id) ON DELETE CASCADE,
    status TEXT NOT NULL DEFAULT 'open' CHECK (status IN ('open', 'waiting', 'closed')),
    assignee_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    held_by TEXT REFERENCES users (id) ON DELETE SET NULL,
    held_until TIMESTAMP,
    unread INTEGER NOT NULL DEFAULT 0,
    last_message_at TIMESTAMP NOT NULL,
    last_preview TEXT NOT NULL DEFAULT '',
    last_direction TEXT NOT NULL DEFAULT 'in' CHECK (last_direction IN ('in', 'out')),
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
CREATE INDEX threads_by_activity ON threads (tenant_id, last_message_at DESC, id DESC);
CREATE INDEX threads_by_bot_activity ON threads (bot_id, last_message_at DESC, id DESC);

-- Every contact that has written gets its thread.
INSERT INTO threads (id, tenant_id, bot_id, contact_id, last_message_at, created_at, updated_at)
SELECT 'th_' || c.id, c.tenant_id, c.bot_id, c.id, c.last_seen_at, c.first_seen_at, c.last_seen_at
FROM contacts c;
UPDATE threads SET last_preview = coalesce((
    SELECT substr(m.body, 1, 120) FROM messages m JOIN contacts c ON c.id = threads.contact_id
    WHERE m.bot_id = c.bot_id AND m.contact_number = c.number
    ORDER BY m.created_at DESC LIMIT 1), '');

-- What the team keeps about a contact: tags, notes, and whether it opted out of broadcasts.
ALTER TABLE contacts ADD COLUMN opted_out_at TIMESTAMP;
CREATE TABLE contact_tags (
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    tag TEXT NOT NULL,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    created_at TIMESTAMP NOT NULL,
    PRIMARY KEY (contact_id, tag)
);
CREATE INDEX contact_tags_by_tenant ON contact_tags (tenant_id, tag);
CREATE TABLE contact_notes (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    contact_id TEXT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    author_id TEXT REFERENCES users (id) ON DELETE SET NULL,
    body TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX contact_notes_by_contact ON contact_notes (contact_id, created_at);

-- Which team member wrote an outbound message (none: the bot did). No foreign key: the
-- message stays when the member goes, and a key would make removing a user scan every message.
ALTER TABLE outbox ADD COLUMN author_id TEXT;
ALTER TABLE messages ADD COLUMN author_id TEXT;

-- Search: message text and a contact's name and number, through full-text indexes.
CREATE INDEX messages_fts ON messages USING GIN (to_tsvector('simple', body));
CREATE INDEX contacts_fts ON contacts
    USING GIN (to_tsvector('simple', coalesce(name, '') || ' ' || number));
-- Search reads through these views. Row-level security evaluates a policy before any
-- condition that is not leakproof, and `@@` is not, so under the policy the planner may not
-- use the GIN index and scans every message. A view runs with its owner's rights (the owner
-- of the tables, whom the policy does not bind), so it repeats the policy as its own WHERE
-- (and WITH CHECK OPTION for writes through it); `doc` is the indexed expression exactly.
CREATE VIEW messages_searchable AS
    SELECT id, tenant_id, bot_id, contact_number, direction, body, created_at,
           to_tsvector('simple', body) AS doc
    FROM messages
    WHERE tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system'
    WITH CHECK OPTION;
CREATE VIEW contacts_searchable AS
    SELECT id, tenant_id, bot_id, number, name,
           to_tsvector('simple', coalesce(name, '') || ' ' || number) AS doc
    FROM contacts
    WHERE tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system'
    WITH CHECK OPTION;
-- A common word matches a large share of the messages; newest first, its first page is read
-- from this index in order until enough rows match, instead of sorting every match.
CREATE INDEX messages_by_tenant_time ON messages (tenant_id, created_at DESC, id DESC);

-- What changed, in order, for the live pages: written in the same transaction as the change,
-- so a browser that reconnects with the last id it saw gets everything after it. Pruned after
-- a day.
CREATE TABLE live_events (
    seq BIGSERIAL PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX live_events_by_tenant ON live_events (tenant_id, seq);
CREATE INDEX live_events_by_time ON live_events (created_at);

ALTER TABLE threads ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON threads
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE contact_tags ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_tags
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE contact_notes ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON contact_notes
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
ALTER TABLE live_events ENABLE ROW LEVEL SECURITY;
CREATE POLICY tenant_isolation ON live_events
    USING (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system')
    WITH CHECK (tenant_id = current_setting('app.tenant_id', true) OR current_setting('app.scope', true) = 'system');
