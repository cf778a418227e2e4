-- Per-unit synthesis reports sent back to the units (`gopy synthesis send`): one row per
-- unit lead to deliver to, holding the file built for their unit. The bot takes each row
-- once (a row taken by a process that died is taken again after its lease) and records
-- whether Telegram accepted the file. A unit with no linked lead gets no row; the command
-- lists it as not delivered and the audit line names it.
CREATE TABLE unit_report_sends (
    id           INTEGER PRIMARY KEY,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code    TEXT NOT NULL,
    staff_id     INTEGER NOT NULL REFERENCES staff_users (id),
    file_name    TEXT NOT NULL,
    bytes        BLOB NOT NULL,
    opinions     INTEGER NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TEXT NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    taken_at     TEXT,
    finished_at  TEXT,
    error        TEXT
) STRICT;
CREATE INDEX unit_report_sends_open ON unit_report_sends (id) WHERE state IN ('pending', 'sending');
CREATE INDEX unit_report_sends_campaign ON unit_report_sends (campaign_id);
