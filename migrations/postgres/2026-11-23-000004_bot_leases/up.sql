-- Which instance runs each bot, when Redis is not there to hold the lease: a row per bot,
-- renewed by its holder; an expired row may be taken over by another instance.
CREATE TABLE bot_leases (
    bot_id TEXT PRIMARY KEY REFERENCES bots (id) ON DELETE CASCADE,
    holder TEXT NOT NULL,
    expires_at TIMESTAMP NOT NULL
);

-- The instance running the bot now (shown to operators; NULL when stopped).
ALTER TABLE bots ADD COLUMN running_on TEXT;
