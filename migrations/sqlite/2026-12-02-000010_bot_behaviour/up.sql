-- What the bot remembers per contact so it does not repeat itself: the closed period (by its
-- start) it last sent the away message for, and until when a contact who wrote too fast is
-- paused; and how many answers in a row a flow did not understand.
ALTER TABLE contacts ADD COLUMN away_sent_for TIMESTAMP;
ALTER TABLE contacts ADD COLUMN paused_until TIMESTAMP;
ALTER TABLE conversations ADD COLUMN misses INTEGER NOT NULL DEFAULT 0;
