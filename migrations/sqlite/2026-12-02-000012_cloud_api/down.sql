DROP TABLE media;
ALTER TABLE outbox DROP COLUMN content;
DROP INDEX contacts_by_user_id;
ALTER TABLE contacts DROP COLUMN user_id;
DROP TRIGGER messages_status_known_insert;
DROP TRIGGER messages_status_known_update;
UPDATE messages SET status = 'sent' WHERE status = 'failed';
CREATE TRIGGER messages_status_known_insert BEFORE INSERT ON messages
WHEN NEW.status NOT IN ('received', 'sent', 'delivered', 'read')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: messages_status_known');
END;
CREATE TRIGGER messages_status_known_update BEFORE UPDATE OF status ON messages
WHEN NEW.status NOT IN ('received', 'sent', 'delivered', 'read')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: messages_status_known');
END;
ALTER TABLE messages DROP COLUMN error_title;
ALTER TABLE messages DROP COLUMN error_code;
ALTER TABLE messages DROP COLUMN contact_user_id;
ALTER TABLE messages DROP COLUMN reply_to;
ALTER TABLE messages DROP COLUMN details;
ALTER TABLE messages DROP COLUMN kind;
DROP TABLE webhook_deliveries;
DROP TABLE cloud_connections;
