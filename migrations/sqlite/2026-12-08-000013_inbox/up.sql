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

-- Search: message text and a contact's name and number, through FTS5 indexes that keep no
-- copy of the text (external content, keyed by rowid, kept in step by triggers). VACUUM may
-- renumber the rowids of these tables: after one, rebuild both indexes
-- (INSERT INTO messages_fts(messages_fts) VALUES ('rebuild'), and the same for contacts_fts).
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body, content = 'messages', content_rowid = 'rowid', tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.rowid, old.body);
    INSERT INTO messages_fts (rowid, body) VALUES (new.rowid, new.body);
END;
INSERT INTO messages_fts (messages_fts) VALUES ('rebuild');

CREATE VIRTUAL TABLE contacts_fts USING fts5 (
    name, number, content = 'contacts', content_rowid = 'rowid',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER contacts_fts_insert AFTER INSERT ON contacts BEGIN
    INSERT INTO contacts_fts (rowid, name, number) VALUES (new.rowid, new.name, new.number);
END;
CREATE TRIGGER contacts_fts_delete AFTER DELETE ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name, number)
    VALUES ('delete', old.rowid, old.name, old.number);
END;
CREATE TRIGGER contacts_fts_update AFTER UPDATE OF name, number ON contacts BEGIN
    INSERT INTO contacts_fts (contacts_fts, rowid, name, number)
    VALUES ('delete', old.rowid, old.name, old.number);
    INSERT INTO contacts_fts (rowid, name, number) VALUES (new.rowid, new.name, new.number);
END;
INSERT INTO contacts_fts (contacts_fts) VALUES ('rebuild');
-- (PostgreSQL adds messages_by_tenant_time for search newest first; here search reads the
-- FTS5 match list in rowid order, which is the order messages were stored.)

-- What changed, in order, for the live pages: written in the same transaction as the change,
-- so a browser that reconnects with the last id it saw gets everything after it. Pruned after
-- a day.
CREATE TABLE live_events (
    seq INTEGER PRIMARY KEY AUTOINCREMENT,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    thread_id TEXT NOT NULL,
    kind TEXT NOT NULL,
    ref_id TEXT NOT NULL,
    created_at TIMESTAMP NOT NULL
);
CREATE INDEX live_events_by_tenant ON live_events (tenant_id, seq);
CREATE INDEX live_events_by_time ON live_events (created_at);
