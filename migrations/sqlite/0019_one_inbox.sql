-- One inbox for every webhook. The shared `webhook_inbox` (0017) now also keeps the Zalo
-- Bot's deliveries (source `zalo:<bot id>`) and the Zalo OA's (source `zalo_oa`), so that
-- one claim/lease implementation serves them all and each resident's events are processed
-- one at a time, in the platform's order, across replicas.
--
-- `kind` says what an event is (Zalo's `event_name`; empty for Telegram), for tests and
-- status.
ALTER TABLE webhook_inbox ADD COLUMN kind TEXT NOT NULL DEFAULT '';

-- The OA's own inbox (0008) moves in: pending events keep their place (their order is the
-- time they were received; the user is the chat key, or the event's own key for an event
-- about no user), processed ones keep recognising redeliveries until they are forgotten.
-- Leases are dropped: a process that held one is gone by the time this runs.
INSERT INTO webhook_inbox (source, event_key, chat_key, seq, kind, body, state, attempts,
                           not_before, received_at, processed_at, error)
SELECT 'zalo_oa', event_key, COALESCE(user_id, event_key),
       COALESCE(CAST((julianday(received_at) - 2440587.5) * 86400000 AS INTEGER), id),
       event_name, body, state, attempts, not_before, received_at, processed_at, error
FROM zalo_oa_inbox
WHERE true
ORDER BY id
ON CONFLICT (source, event_key) DO NOTHING;

DROP TABLE zalo_oa_inbox;
