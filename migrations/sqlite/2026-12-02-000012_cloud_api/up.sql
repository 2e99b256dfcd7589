-- A bot on Meta's WhatsApp Cloud API: its number at Meta and the secrets to reach it. The
-- token, app secret and verify token are sealed with ENCRYPTION_KEY, bound to the bot and to
-- what each one is; `token_hint` (its last characters) lets the page recognise the token.
CREATE TABLE cloud_connections (
    bot_id TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    -- Meta routes the platform webhook by this id: one bot per number.
    phone_number_id TEXT NOT NULL UNIQUE,
    waba_id TEXT NOT NULL,
    access_token BLOB NOT NULL,
    app_secret BLOB NOT NULL,
    verify_token BLOB NOT NULL,
    token_hint TEXT NOT NULL,
    -- The random part of the bot's own webhook URL, /webhooks/whatsapp/{webhook_key}.
    webhook_key TEXT NOT NULL UNIQUE,
    verified_name TEXT NOT NULL,
    display_phone_number TEXT NOT NULL,
    quality_rating TEXT,
    -- When the first webhook with a valid signature arrived: the page then says "Connected".
    verified_at TIMESTAMP,
    -- Meta said the number sends too fast (130429): nothing goes out before this.
    send_after TIMESTAMP,
    created_at TIMESTAMP NOT NULL,
    updated_at TIMESTAMP NOT NULL
);

-- Webhook bodies from Meta, stored as received (raw bytes, signature already checked) before
-- Meta gets its 200; the bot's task reads them in order and marks them processed.
CREATE TABLE webhook_deliveries (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    body BLOB NOT NULL,
    received_at TIMESTAMP NOT NULL,
    processed_at TIMESTAMP,
    attempts INTEGER NOT NULL DEFAULT 0,
    last_error TEXT
);
CREATE INDEX webhook_deliveries_pending ON webhook_deliveries (bot_id, received_at)
    WHERE processed_at IS NULL;

-- What a message is beyond its text: its kind (text, image, location, reaction…) and that
-- kind's fields as JSON; the message it replies to; the customer's business-scoped user id;
-- and, for a failed outbound message, Meta's error.
ALTER TABLE messages ADD COLUMN kind TEXT NOT NULL DEFAULT 'text';
ALTER TABLE messages ADD COLUMN details TEXT;
ALTER TABLE messages ADD COLUMN reply_to TEXT;
ALTER TABLE messages ADD COLUMN contact_user_id TEXT;
ALTER TABLE messages ADD COLUMN error_code BIGINT;
ALTER TABLE messages ADD COLUMN error_title TEXT;
DROP TRIGGER messages_status_known_insert;
DROP TRIGGER messages_status_known_update;
CREATE TRIGGER messages_status_known_insert BEFORE INSERT ON messages
WHEN NEW.status NOT IN ('received', 'sent', 'delivered', 'read', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: messages_status_known');
END;
CREATE TRIGGER messages_status_known_update BEFORE UPDATE OF status ON messages
WHEN NEW.status NOT IN ('received', 'sent', 'delivered', 'read', 'failed')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: messages_status_known');
END;

-- Meta's business-scoped user id beside the number: a contact is found by either.
ALTER TABLE contacts ADD COLUMN user_id TEXT;
CREATE UNIQUE INDEX contacts_by_user_id ON contacts (bot_id, user_id) WHERE user_id IS NOT NULL;

-- A reply that is more than text (a template, media, buttons): the message as JSON; `body`
-- keeps a text rendering for transports that send text only and for the pages.
ALTER TABLE outbox ADD COLUMN content TEXT;

-- Media a customer sent: fetched from the Graph API after the message is stored, checked and
-- kept under DATA_DIR (`stored_path`, relative to the media folder).
CREATE TABLE media (
    id TEXT PRIMARY KEY,
    tenant_id TEXT NOT NULL REFERENCES tenants (id) ON DELETE CASCADE,
    bot_id TEXT NOT NULL REFERENCES bots (id) ON DELETE CASCADE,
    message_id TEXT NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    provider_media_id TEXT NOT NULL,
    mime_type TEXT,
    sha256 TEXT,
    filename TEXT,
    file_size BIGINT,
    stored_path TEXT,
    status TEXT NOT NULL CHECK (status IN ('pending', 'stored', 'refused', 'failed')),
    error TEXT,
    attempts INTEGER NOT NULL DEFAULT 0,
    created_at TIMESTAMP NOT NULL,
    stored_at TIMESTAMP
);
CREATE INDEX media_pending ON media (bot_id, created_at) WHERE status = 'pending';
CREATE INDEX media_by_message ON media (message_id);
