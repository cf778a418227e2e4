-- The web console (Postgres): staff passwords that must be changed, sessions kept in the
-- database, and login attempts for throttling.

-- A password issued by `gopy staff add` (or reset by an administrator) is one-time: the
-- console lets its holder do nothing but choose their own until they have.
ALTER TABLE staff_users ADD COLUMN password_must_change BOOLEAN NOT NULL DEFAULT FALSE;
ALTER TABLE staff_users ADD COLUMN password_changed_at TIMESTAMPTZ;

-- A signed-in browser. The cookie holds a random token; only its SHA-256 is stored, so a
-- copy of the database opens no session. `csrf` is the token every form of the session
-- carries back.
CREATE TABLE console_sessions (
    token_hash   TEXT PRIMARY KEY,
    staff_id     BIGINT NOT NULL REFERENCES staff_users (id),
    csrf         TEXT NOT NULL,
    ip           TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    last_seen_at TIMESTAMPTZ NOT NULL,
    expires_at   TIMESTAMPTZ NOT NULL
);
CREATE INDEX console_sessions_staff ON console_sessions (staff_id);
CREATE INDEX console_sessions_expiry ON console_sessions (expires_at);

-- Every login attempt, for throttling per account and per address. `name` is what was typed
-- (it may name nobody).
CREATE TABLE console_login_attempts (
    id      BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at      TIMESTAMPTZ NOT NULL,
    name    TEXT NOT NULL,
    ip      TEXT NOT NULL,
    success BOOLEAN NOT NULL
);
CREATE INDEX console_login_attempts_name ON console_login_attempts (name, at);
CREATE INDEX console_login_attempts_ip ON console_login_attempts (ip, at);
