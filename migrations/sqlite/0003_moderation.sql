-- Moderation: what was queued for a person to decide (an opinion, or a post in a group chat
-- named by channel, chat id and message id), the append-only moderation log, and the
-- officials' watch list. Nothing here is ever deleted: a hidden opinion or post keeps its
-- text, author and reason. Timestamps are RFC 3339 text in UTC.

CREATE TABLE moderation_items (
    id                INTEGER PRIMARY KEY,
    -- What was flagged: an opinion, or a group post (channel, chat id, message id).
    opinion_id        INTEGER REFERENCES opinions (id),
    channel           TEXT,
    chat_id           TEXT,
    message_id        TEXT,
    -- The text as it was when flagged, kept in full.
    text              TEXT NOT NULL,
    author_contact_id INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    -- Who raised it: the detector, a resident's report, or a moderator.
    source            TEXT NOT NULL CHECK (source IN ('detector', 'report', 'moderator')),
    -- Category codes, comma-separated, and the detector's score.
    categories        TEXT NOT NULL,
    score             INTEGER NOT NULL,
    -- What matched: JSON [{category, term, weight, start, end}] (byte offsets in text).
    matches           TEXT NOT NULL,
    status            TEXT NOT NULL DEFAULT 'queued'
                      CHECK (status IN ('queued', 'upheld', 'dismissed')),
    created_at        TEXT NOT NULL,
    -- The moderator (a name string) and their reason; NULL while queued.
    decided_by        TEXT,
    decided_at        TEXT,
    reason            TEXT,
    -- The author's appeal: it sends the item back to the queue, to a moderator other than
    -- the one who decided (kept in previous_moderator).
    appeal_text       TEXT,
    appealed_at       TEXT,
    previous_moderator TEXT,
    CHECK ((opinion_id IS NULL) <> (message_id IS NULL)),
    CHECK (message_id IS NULL OR (channel IS NOT NULL AND chat_id IS NOT NULL)),
    CHECK ((status = 'queued') = (decided_at IS NULL))
) STRICT;
-- One item per opinion and per post: a later decision updates it, the log keeps each one.
CREATE UNIQUE INDEX moderation_items_opinion ON moderation_items (opinion_id)
    WHERE opinion_id IS NOT NULL;
CREATE UNIQUE INDEX moderation_items_post ON moderation_items (channel, chat_id, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX moderation_items_status ON moderation_items (status, id);

-- Residents' reports of a group post (`/report`): one per person per post. Enough distinct
-- reports queue the post (and hide it pending review where the bot may).
CREATE TABLE moderation_reports (
    id          INTEGER PRIMARY KEY,
    channel     TEXT NOT NULL,
    chat_id     TEXT NOT NULL,
    message_id  TEXT NOT NULL,
    reporter_contact_id INTEGER NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    reason      TEXT,
    reported_at TEXT NOT NULL,
    UNIQUE (channel, chat_id, message_id, reporter_contact_id)
) STRICT;

-- Every queueing and every decision, append-only like audit_log.
CREATE TABLE moderation_log (
    id      INTEGER PRIMARY KEY,
    at      TEXT NOT NULL,
    actor   TEXT NOT NULL,
    action  TEXT NOT NULL,
    item_id INTEGER REFERENCES moderation_items (id),
    detail  TEXT NOT NULL
) STRICT;

CREATE TRIGGER moderation_log_no_update BEFORE UPDATE ON moderation_log
BEGIN
    SELECT RAISE(ABORT, 'moderation_log is append-only');
END;

CREATE TRIGGER moderation_log_no_delete BEFORE DELETE ON moderation_log
BEGIN
    SELECT RAISE(ABORT, 'moderation_log is append-only');
END;

-- Terms officials watch for: a message containing one is only queued for review.
-- `term` is the normalised form (so one term is not listed twice in two spellings).
CREATE TABLE moderation_watch (
    term     TEXT PRIMARY KEY,
    phrase   TEXT NOT NULL,
    added_by TEXT NOT NULL,
    added_at TEXT NOT NULL
) STRICT;

-- How moderation stands for each flagged opinion: pending (queued), hidden (upheld: excluded
-- from the synthesis, with the reason) or kept (dismissed). Opinions not listed were never
-- flagged.
CREATE VIEW opinion_moderation AS
SELECT opinion_id,
       CASE status WHEN 'queued' THEN 'pending' WHEN 'upheld' THEN 'hidden' ELSE 'kept' END
           AS state,
       reason
FROM moderation_items
WHERE opinion_id IS NOT NULL;
