-- Version 4: the audit log. Sign-ins (and failed ones), registrations, password and app-password
-- changes, and every admin action, from the API or the CLI. No foreign keys: an entry outlives
-- the account it names, and a failed sign-in may name no account at all. Entries older than
-- `audit_retention` are deleted by the server.
CREATE TABLE audit_log (
    id           INTEGER PRIMARY KEY,       -- the order of events
    at           INTEGER NOT NULL,          -- ms since the epoch
    action       TEXT NOT NULL,             -- e.g. 'login', 'login-failed', 'quota-set'
    actor_id     TEXT,                      -- the account that acted; NULL when unknown or the CLI
    actor_name   TEXT NOT NULL,             -- its username (as typed, for a failed sign-in), or 'cli'
    target_id    TEXT,                      -- the account (or object) acted upon
    target_name  TEXT,
    address      TEXT,                      -- client address; NULL from the CLI
    detail       TEXT                       -- JSON object with the action's facts
);
CREATE INDEX audit_log_at ON audit_log(at);
CREATE INDEX audit_log_action ON audit_log(action, id);
