-- Unpairing a bot closes its sandbox phones but keeps them, so that a phone's open tab can
-- say the bot was unpaired instead of "page not found".
ALTER TABLE sandbox_phones ADD COLUMN unpaired_at TIMESTAMP;
