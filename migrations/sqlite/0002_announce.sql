-- Announcements (SQLite), part 1: staff users (officials, approvers, unit leads, moderators) with roles
-- and a unit scope, and the chats (groups, supergroups, channels) gopy's bot is in, bound to
-- units. Every change to either is written to audit_log in the same transaction.
-- Timestamps are RFC 3339 text in UTC as sqlx writes chrono::DateTime<Utc>.

-- A user of gopy who acts for the administration. `roles` is a comma-separated list of
-- admin, official, approver, unit_lead, moderator. `unit_code` NULL means the whole tree.
CREATE TABLE staff_users (
    id                   INTEGER PRIMARY KEY,
    name                 TEXT NOT NULL UNIQUE,
    roles                TEXT NOT NULL,
    unit_code            TEXT REFERENCES units (code),
    -- For the web console (another issue); NULL until a password is set there.
    password_hash        TEXT,
    -- The Telegram user this staff user speaks as, once linked.
    telegram_user_id     INTEGER UNIQUE,
    -- A one-time code to link a Telegram account (`/link CODE` in private chat).
    link_code            TEXT UNIQUE,
    link_code_expires_at TEXT,
    created_at           TEXT NOT NULL,
    linked_at            TEXT,
    disabled_at          TEXT
) STRICT;

-- A chat the bot was added to. `external_id` is the platform's chat id (text, as contacts
-- keep theirs); after a group becomes a supergroup it is the new id and `migrated_from`
-- keeps the old one.
CREATE TABLE chat_groups (
    id              INTEGER PRIMARY KEY,
    channel         TEXT NOT NULL,
    external_id     TEXT NOT NULL,
    kind            TEXT NOT NULL CHECK (kind IN ('group', 'supergroup', 'channel')),
    title           TEXT NOT NULL,
    state           TEXT NOT NULL CHECK (state IN ('pending', 'bound', 'inactive')),
    unit_code       TEXT REFERENCES units (code),
    -- The bot's membership: member, administrator, left, kicked, restricted.
    bot_status      TEXT NOT NULL,
    can_delete      INTEGER NOT NULL DEFAULT 0 CHECK (can_delete IN (0, 1)),
    can_restrict    INTEGER NOT NULL DEFAULT 0 CHECK (can_restrict IN (0, 1)),
    migrated_to     TEXT,
    migrated_from   TEXT,
    created_at      TEXT NOT NULL,
    updated_at      TEXT NOT NULL,
    bound_at        TEXT,
    bound_by        TEXT,
    UNIQUE (channel, external_id),
    CHECK (state <> 'bound' OR unit_code IS NOT NULL)
) STRICT;
CREATE INDEX chat_groups_unit ON chat_groups (unit_code);

-- An announcement. `audience` is JSON ({"units": [...], "subunits": bool, "groups": [...]}),
-- `schedule` JSON ({"kind": "now"} | {"kind": "at", "at": ...} | {"kind": "windows", ...}).
-- `revision` grows with every edit; an approval is for one revision only.
CREATE TABLE broadcasts (
    id                INTEGER PRIMARY KEY,
    campaign_id       INTEGER REFERENCES campaigns (id),
    phase             TEXT,
    text              TEXT NOT NULL,
    button_unit       TEXT,
    audience          TEXT NOT NULL,
    schedule          TEXT NOT NULL,
    state             TEXT NOT NULL CHECK (state IN ('draft', 'submitted', 'approved', 'scheduled',
                          'sending', 'sent', 'partly_failed', 'cancelled')),
    revision          INTEGER NOT NULL DEFAULT 1,
    created_by        INTEGER NOT NULL REFERENCES staff_users (id),
    created_at        TEXT NOT NULL,
    updated_at        TEXT NOT NULL,
    submitted_by      INTEGER REFERENCES staff_users (id),
    approved_by       INTEGER REFERENCES staff_users (id),
    approved_revision INTEGER,
    finished_at       TEXT
) STRICT;

-- The outbox: one row per (broadcast, target), written in the transaction that schedules the
-- broadcast. A worker claims due rows (FOR UPDATE SKIP LOCKED), leasing them until
-- `lease_until`; a lease that runs out (the worker died) makes the row claimable again.
CREATE TABLE deliveries (
    id            INTEGER PRIMARY KEY,
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id),
    chat_group_id INTEGER NOT NULL REFERENCES chat_groups (id),
    state         TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    not_before    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    lease_until   TEXT,
    leased_by     TEXT,
    message_id    TEXT,
    error         TEXT,
    updated_at    TEXT NOT NULL,
    sent_at       TEXT,
    UNIQUE (broadcast_id, chat_group_id)
) STRICT;
CREATE INDEX deliveries_due ON deliveries (not_before) WHERE state = 'pending';
