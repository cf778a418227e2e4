-- The Zalo Official Account (OA) adapter: its tokens, the inbox of webhook events, what it
-- knows of each OA user (the messaging window), and the messages it chose not to send.

-- One row per OA app. The refresh token is single-use: the new one is written here (and
-- committed) before the new access token is used. Both tokens are encrypted at rest
-- (ChaCha20-Poly1305 with a key derived from GOPY_SECRET_KEY; `v1:` + hex of nonce and
-- ciphertext). `version` grows with every refresh: a process refreshes only after moving the
-- lease from the version it read (a conditional UPDATE), so one refresh runs at a time
-- across processes, and the others read what the winner stored.
CREATE TABLE zalo_oa_tokens (
    app_id            TEXT PRIMARY KEY,
    refresh_token     TEXT NOT NULL,
    access_token      TEXT,
    access_expires_at TIMESTAMPTZ,
    version           BIGINT NOT NULL,
    lease_until       TIMESTAMPTZ,
    leased_by         TEXT,
    -- Set when Zalo refused the refresh token: nothing works until an administrator puts a
    -- new one in (`gopy zalo-oa reset-token`).
    dead_at           TIMESTAMPTZ,
    dead_reason       TEXT,
    updated_at        TIMESTAMPTZ NOT NULL
);

-- Webhook events, committed before Zalo gets its 200 and processed after. `event_key` is the
-- message id (`msg_id` or `message_id`), or for events without one the event name, user
-- and timestamp: a redelivered event is answered 200 and dropped. The body is kept only
-- until the event is processed.
CREATE TABLE zalo_oa_inbox (
    id           BIGSERIAL PRIMARY KEY,
    event_key    TEXT NOT NULL UNIQUE,
    event_name   TEXT NOT NULL,
    user_id      TEXT,
    body         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts     BIGINT NOT NULL DEFAULT 0,
    not_before   TIMESTAMPTZ NOT NULL,
    lease_until  TIMESTAMPTZ,
    leased_by    TEXT,
    received_at  TIMESTAMPTZ NOT NULL,
    processed_at TIMESTAMPTZ,
    error        TEXT
);
CREATE INDEX zalo_oa_inbox_pending ON zalo_oa_inbox (id) WHERE state = 'pending';
CREATE INDEX zalo_oa_inbox_processed ON zalo_oa_inbox (processed_at) WHERE state <> 'pending';

-- What the OA knows of a user (by their OA user id): their last interaction opens the
-- messaging window (free for 48 hours, billed up to 7 days, closed after), whether they
-- follow the OA, and whether Zalo said they cannot be reached.
CREATE TABLE zalo_oa_users (
    user_id             TEXT PRIMARY KEY,
    last_interaction_at TIMESTAMPTZ,
    following           BOOLEAN,
    follow_changed_at   TIMESTAMPTZ,
    unreachable_at      TIMESTAMPTZ,
    unreachable_code    BIGINT,
    updated_at          TIMESTAMPTZ NOT NULL
);

-- Messages the OA did not send, and why: outside the window (gopy's own check, or Zalo's
-- -230/-232), or the user cannot be reached (-213 not following, -217 blocked, -227
-- inactive). No text is kept.
CREATE TABLE zalo_oa_unsent (
    id        BIGSERIAL PRIMARY KEY,
    user_id   TEXT NOT NULL,
    reason    TEXT NOT NULL CHECK (reason IN ('window', 'unreachable', 'refused')),
    code      BIGINT,
    at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX zalo_oa_unsent_user ON zalo_oa_unsent (user_id, at);
