-- The web console (SQLite): staff passwords that must be changed, sessions kept in the
-- database, and login attempts for throttling. Timestamps are RFC 3339 text in UTC.

-- A password issued by `gopy staff add` (or reset by an administrator) is one-time: the
-- console lets its holder do nothing but choose their own until they have.
ALTER TABLE staff_users ADD COLUMN password_must_change INTEGER NOT NULL DEFAULT 0
    CHECK (password_must_change IN (0, 1));
ALTER TABLE staff_users ADD COLUMN password_changed_at TEXT;

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
-- copy of the database opens no session. `csrf` is the token every form of the session
-- carries back.
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY,
    staff_id     INTEGER NOT NULL REFERENCES staff_users (id),
    csrf         TEXT NOT NULL,
    ip           TEXT NOT NULL,
    created_at   TEXT NOT NULL,
    last_seen_at TEXT NOT NULL,
    expires_at   TEXT NOT NULL
) STRICT;
CREATE INDEX console_sessions_staff ON console_sessions (staff_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Every login attempt, for throttling per account and per address. `name` is what was typed
-- (it may name nobody).
CREATE TABLE console_login_attempts (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    name    TEXT NOT NULL,
    ip      TEXT NOT NULL,
    success INTEGER NOT NULL CHECK (success IN (0, 1))
) STRICT;
CREATE INDEX console_login_attempts_name ON console_login_attempts (name, at);
CREATE INDEX console_login_attempts_ip ON console_login_attempts (ip, at);
