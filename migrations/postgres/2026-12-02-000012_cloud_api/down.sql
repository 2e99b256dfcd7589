DROP TABLE media;
ALTER TABLE outbox DROP COLUMN content;
DROP INDEX contacts_by_user_id;
ALTER TABLE contacts DROP COLUMN user_id;
ALTER TABLE messages DROP CONSTRAINT messages_status_known;
UPDATE messages SET status = 'sent' WHERE status = 'failed';
ALTER TABLE messages ADD CONSTRAINT messages_status_known
    CHECK (status IN ('received', 'sent', 'delivered', 'read'));
ALTER TABLE messages DROP COLUMN error_title;
ALTER TABLE messages DROP COLUMN error_code;
ALTER TABLE messages DROP COLUMN contact_user_id;
ALTER TABLE messages DROP COLUMN reply_to;
ALTER TABLE messages DROP COLUMN details;
ALTER TABLE messages DROP COLUMN kind;
DROP TABLE webhook_deliveries;
DROP TABLE cloud_connections;
