DROP TABLE sandbox_phones;
DROP TABLE outbox;
DROP TABLE messages;
DROP TABLE contacts;
DROP TABLE bots;
