DROP TABLE audit_events;
DROP TABLE invitations;
DROP TABLE email_tokens;
DROP TABLE sessions;
DROP TABLE memberships;
DROP TABLE tenants;
DROP TABLE users;
