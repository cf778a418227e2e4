-- Per-unit synthesis reports sent back to the units (`gopy synthesis send`): one row per
-- unit lead to deliver to, holding the file built for their unit. The bot takes each row
-- once (a row taken by a process that died is taken again after its lease) and records
-- whether Telegram accepted the file. A unit with no linked lead gets no row; the command
-- lists it as not delivered and the audit line names it.
CREATE TABLE unit_report_sends (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code    TEXT NOT NULL,
    staff_id     BIGINT NOT NULL REFERENCES staff_users (id),
    file_name    TEXT NOT NULL,
    bytes        BYTEA NOT NULL,
    opinions     BIGINT NOT NULL,
    requested_by TEXT NOT NULL,
    requested_at TIMESTAMPTZ NOT NULL,
    state        TEXT NOT NULL DEFAULT 'pending'
                 CHECK (state IN ('pending', 'sending', 'sent', 'failed')),
    taken_at     TIMESTAMPTZ,
    finished_at  TIMESTAMPTZ,
    error        TEXT
);
CREATE INDEX unit_report_sends_open ON unit_report_sends (id) WHERE state IN ('pending', 'sending');
CREATE INDEX unit_report_sends_campaign ON unit_report_sends (campaign_id);
