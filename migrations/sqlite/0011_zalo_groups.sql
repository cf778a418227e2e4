-- Announcements over Zalo, and to groups no bot can post in.
--
-- A staff user may link a Zalo account (Zalo Bot API user id) as well as a Telegram one, to
-- bind Zalo groups and to receive assisted posts.
ALTER TABLE staff_users ADD COLUMN zalo_user_id TEXT;
CREATE UNIQUE INDEX staff_users_zalo ON staff_users (zalo_user_id);

-- How gopy posts in a group: 'direct' (the bot is a member and sends) or 'assisted' (a group a
-- resident made with a personal account: gopy prepares the post and sends it to the group's
-- lead, who posts it and confirms). An assisted group names its lead.
ALTER TABLE chat_groups ADD COLUMN posting TEXT NOT NULL DEFAULT 'direct'
    CHECK (posting IN ('direct', 'assisted'));
ALTER TABLE chat_groups ADD COLUMN lead_staff_id INTEGER REFERENCES staff_users (id);

-- Each delivery is sent by the worker of one channel: 'telegram', 'zalo', or 'assisted'
-- (the prepared post goes to the lead's private chat on the channel the lead linked).
-- An assisted delivery counts as delivered once the lead confirms it was posted.
ALTER TABLE deliveries ADD COLUMN channel TEXT NOT NULL DEFAULT 'telegram';
ALTER TABLE deliveries ADD COLUMN confirmed_at TEXT;
ALTER TABLE deliveries ADD COLUMN confirmed_by TEXT;
ALTER TABLE deliveries ADD COLUMN reminded_at TEXT;
UPDATE deliveries SET channel = (SELECT c.channel FROM contacts c WHERE c.id = deliveries.contact_id)
    WHERE contact_id IS NOT NULL;
UPDATE deliveries SET channel = (SELECT g.channel FROM chat_groups g WHERE g.id = deliveries.chat_group_id)
    WHERE chat_group_id IS NOT NULL;

-- Claims and the rate budget are per channel now.
DROP INDEX deliveries_leased;
DROP INDEX deliveries_recent;
DROP INDEX deliveries_due;
CREATE INDEX deliveries_leased ON deliveries (channel, lease_until) WHERE state = 'pending';
CREATE INDEX deliveries_recent ON deliveries (channel, sent_at) WHERE state = 'sent';
CREATE INDEX deliveries_due ON deliveries (channel, not_before, id) WHERE state = 'pending';
-- Assisted posts the lead has not confirmed yet.
CREATE INDEX deliveries_unconfirmed ON deliveries (sent_at)
    WHERE channel = 'assisted' AND state = 'sent' AND confirmed_at IS NULL;

-- Approvers linked on Telegram are sent each submitted revision once, with an approve button;
-- this is the revision they were last sent (several processes send it once).
ALTER TABLE broadcasts ADD COLUMN approvers_told_revision INTEGER;
