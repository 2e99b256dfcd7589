ALTER TABLE messages DROP CONSTRAINT messages_status_known;
ALTER TABLE bots DROP CONSTRAINT bots_status_known;
