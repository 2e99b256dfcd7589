-- A bot's and a message's status are enums in the code; the database refuses any other name.
-- SQLite cannot add a CHECK to an existing table, so triggers do the same work.
CREATE TRIGGER bots_status_known_insert BEFORE INSERT ON bots
WHEN NEW.status NOT IN ('unpaired', 'pairing', 'connected', 'reconnecting', 'logged_out', 'error')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: bots_status_known');
END;
CREATE TRIGGER bots_status_known_update BEFORE UPDATE OF status ON bots
WHEN NEW.status NOT IN ('unpaired', 'pairing', 'connected', 'reconnecting', 'logged_out', 'error')
BEGIN
    SELECT RAISE(ABORT, 'CHECK constraint failed: bots_status_known');
END;
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
