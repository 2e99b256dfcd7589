-- The plan catalogue: quotas (NULL means unlimited) and features, upserted by `whatsdex seed`.
CREATE TABLE plans (
    id TEXT PRIMARY KEY,
    name TEXT NOT NULL,
    position INTEGER NOT NULL,
    monthly_price_cents INTEGER NOT NULL CHECK (monthly_price_cents >= 0),
    max_bots INTEGER,
    max_messages_per_month INTEGER,
    max_ai_replies_per_day INTEGER,
    max_broadcast_recipients_per_month INTEGER,
    max_members INTEGER,
    features TEXT NOT NULL,
    updated_at TIMESTAMP NOT NULL
);
