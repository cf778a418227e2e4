-- The outbox at speed: recording a batch of results asks, per broadcast, whether anything is
-- still pending, and every claim counts the deliveries leased now and sent in the last second
-- (the shared rate budget). Without these partial indexes each of those scanned all of a
-- broadcast's deliveries (or all deliveries), which made a large broadcast quadratic.

-- Residents who asked for notices (`/notices on`, `/thongbao bat`) and those who asked to stop
-- or blocked the bot. One row per contact (a contact is one person on one channel); the unit
-- is where they said they live in the dialog, so a broadcast to a unit reaches its residents.
-- Erasing the contact erases this row.
CREATE TABLE resident_notices (
    contact_id  INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    subscribed  INTEGER NOT NULL CHECK (subscribed IN (0, 1)),
    unit_code   TEXT,
    reason      TEXT NOT NULL CHECK (reason IN ('command', 'blocked')),
    changed_at  TEXT NOT NULL
) STRICT;
CREATE INDEX resident_notices_unit ON resident_notices (unit_code) WHERE subscribed = 1;

-- A delivery goes to a group or to a resident's private chat. SQLite cannot drop NOT NULL
-- from a column, so the outbox table is rebuilt with the same rows (nothing references it).
CREATE TABLE deliveries_new (
    id            INTEGER PRIMARY KEY,
    broadcast_id  INTEGER NOT NULL REFERENCES broadcasts (id),
    chat_group_id INTEGER REFERENCES chat_groups (id),
    -- Set for a resident's private chat; NULL again if the resident erases themselves.
    contact_id    INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    state         TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'failed', 'cancelled')),
    not_before    TEXT NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    lease_until   TEXT,
    leased_by     TEXT,
    message_id    TEXT,
    error         TEXT,
    updated_at    TEXT NOT NULL,
    sent_at       TEXT,
    UNIQUE (broadcast_id, chat_group_id),
    UNIQUE (broadcast_id, contact_id)
) STRICT;
INSERT INTO deliveries_new (id, broadcast_id, chat_group_id, state, not_before, attempts,
    lease_until, leased_by, message_id, error, updated_at, sent_at)
SELECT id, broadcast_id, chat_group_id, state, not_before, attempts, lease_until, leased_by,
    message_id, error, updated_at, sent_at FROM deliveries;
DROP TABLE deliveries;
ALTER TABLE deliveries_new RENAME TO deliveries;
CREATE INDEX deliveries_due ON deliveries (not_before) WHERE state = 'pending';
CREATE INDEX deliveries_pending_broadcast ON deliveries (broadcast_id) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'pending';
CREATE INDEX deliveries_recent ON deliveries (sent_at) WHERE state = 'sent';

-- Reminders before collection closes. The hours before the close at which a campaign reminds
-- (a JSON array, e.g. [48, 6]; [] for none; no row means the default, 48), set by an official.
CREATE TABLE reminder_settings (
    campaign_id  INTEGER PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    hours_before TEXT NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TEXT NOT NULL
) STRICT;

-- Each reminder is sent at most once (per campaign, hours before the close and audience
-- kind): the row is written in the transaction that schedules its broadcast.
CREATE TABLE reminders_sent (
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    hours_before INTEGER NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('groups', 'residents')),
    broadcast_id INTEGER REFERENCES broadcasts (id),
    created_at   TEXT NOT NULL,
    PRIMARY KEY (campaign_id, hours_before, kind)
) STRICT;

-- The author of the broadcasts gopy writes itself (reminders): a staff user with no role,
-- disabled, so no one can act as it.
INSERT INTO staff_users (name, roles, created_at, disabled_at) VALUES ('gopy-system', '', strftime('%Y-%m-%dT%H:%M:%SZ', 'now'), strftime('%Y-%m-%dT%H:%M:%SZ', 'now'));
