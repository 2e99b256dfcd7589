DROP TABLE live_events;
DROP INDEX contacts_fts;
DROP INDEX messages_fts;
ALTER TABLE messages DROP COLUMN author_id;
ALTER TABLE outbox DROP COLUMN author_id;
DROP TABLE contact_notes;
DROP TABLE contact_tags;
ALTER TABLE contacts DROP COLUMN opted_out_at;
DROP TABLE threads;
