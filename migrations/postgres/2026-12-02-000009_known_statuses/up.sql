-- A bot's and a message's status are enums in the code; the database refuses any other name.
ALTER TABLE bots ADD CONSTRAINT bots_status_known
    CHECK (status IN ('unpaired', 'pairing', 'connected', 'reconnecting', 'logged_out', 'error'));
ALTER TABLE messages ADD CONSTRAINT messages_status_known
    CHECK (status IN ('received', 'sent', 'delivered', 'read'));
