-- The shared inbox of webhook deliveries (Telegram in webhook mode; meant for every webhook
-- that must not lose an event). A delivery is committed here before the platform gets its
-- 200, and processed after by whichever replica claims it.
--
-- `source` names the receiver (`telegram:<bot id>`), `event_key` the platform's id of the
-- delivery (Telegram's `update_id`): a redelivery hits the unique key and is dropped
-- (ON CONFLICT DO NOTHING), so it is processed once. `chat_key` is the resident or chat the
-- event belongs to and `seq` its order there (`update_id`): only the oldest pending row of a
-- chat key is ever claimed, and only while no row of that key is leased, so one resident's
-- updates are processed in order and never two at once, across all replicas. A lease that
-- runs out (its replica died) lets another replica take the row again. The body is dropped
-- once the row is processed; the row stays a while as the de-duplication key.
CREATE TABLE webhook_inbox (
    id           INTEGER PRIMARY KEY,
    source       TEXT NOT NULL,
    event_key    TEXT NOT NULL,
    chat_key     TEXT NOT NULL,
    seq          INTEGER NOT NULL,
    body         TEXT,
    state        TEXT NOT NULL CHECK (state IN ('pending', 'done', 'failed')),
    attempts     INTEGER NOT NULL DEFAULT 0,
    not_before   TEXT NOT NULL,
    lease_until  TEXT,
    leased_by    TEXT,
    received_at  TEXT NOT NULL,
    processed_at TEXT,
    error        TEXT,
    UNIQUE (source, event_key)
) STRICT;
-- The claim looks for the head of each chat key among pending rows, and for a lease held in
-- that key: both through this partial index, which holds pending rows only.
CREATE INDEX webhook_inbox_pending ON webhook_inbox (source, chat_key, seq, id)
    WHERE state = 'pending';
CREATE INDEX webhook_inbox_processed ON webhook_inbox (processed_at) WHERE state <> 'pending';
