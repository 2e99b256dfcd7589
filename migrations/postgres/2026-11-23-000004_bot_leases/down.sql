ALTER TABLE bots DROP COLUMN running_on;
DROP TABLE bot_leases;
