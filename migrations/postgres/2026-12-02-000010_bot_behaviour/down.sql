ALTER TABLE conversations DROP COLUMN misses;
ALTER TABLE contacts DROP COLUMN paused_until;
ALTER TABLE contacts DROP COLUMN away_sent_for;
