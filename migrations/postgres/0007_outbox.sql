-- The outbox at speed: recording a batch of results asks, per broadcast, whether anything is
-- still pending, and every claim counts the deliveries leased now and sent in the last second
-- (the shared rate budget). Without these partial indexes each of those scanned all of a
-- broadcast's deliveries (or all deliveries), which made a large broadcast quadratic.
CREATE INDEX deliveries_pending_broadcast ON deliveries (broadcast_id) WHERE state = 'pending';
CREATE INDEX deliveries_leased ON deliveries (lease_until) WHERE state = 'pending';
CREATE INDEX deliveries_recent ON deliveries (sent_at) WHERE state = 'sent';

-- Residents who asked for notices (`/notices on`, `/thongbao bat`) and those who asked to stop
-- or blocked the bot. One row per contact (a contact is one person on one channel); the unit
-- is where they said they live in the dialog, so a broadcast to a unit reaches its residents.
-- Erasing the contact erases this row.
CREATE TABLE resident_notices (
    contact_id  BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    subscribed  BOOLEAN NOT NULL,
    unit_code   TEXT,
    reason      TEXT NOT NULL CHECK (reason IN ('command', 'blocked')),
    changed_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX resident_notices_unit ON resident_notices (unit_code) WHERE subscribed;

-- A delivery goes to a group or to a resident's private chat.
ALTER TABLE deliveries ALTER COLUMN chat_group_id DROP NOT NULL;
-- Set for a resident's private chat; NULL again if the resident erases themselves.
ALTER TABLE deliveries ADD COLUMN contact_id BIGINT REFERENCES contacts (id) ON DELETE SET NULL;
ALTER TABLE deliveries ADD CONSTRAINT deliveries_broadcast_contact UNIQUE (broadcast_id, contact_id);

-- Reminders before collection closes. The hours before the close at which a campaign reminds
-- (a JSON array, e.g. [48, 6]; [] for none; no row means the default, 48), set by an official.
CREATE TABLE reminder_settings (
    campaign_id  BIGINT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    hours_before JSONB NOT NULL,
    updated_by   TEXT NOT NULL,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Each reminder is sent at most once (per campaign, hours before the close and audience
-- kind): the row is written in the transaction that schedules its broadcast.
CREATE TABLE reminders_sent (
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    hours_before BIGINT NOT NULL,
    kind         TEXT NOT NULL CHECK (kind IN ('groups', 'residents')),
    broadcast_id BIGINT REFERENCES broadcasts (id),
    created_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, hours_before, kind)
);

-- The author of the broadcasts gopy writes itself (reminders): a staff user with no role,
-- disabled, so no one can act as it.
INSERT INTO staff_users (name, roles, created_at, disabled_at) VALUES ('gopy-system', '', now(), now());
