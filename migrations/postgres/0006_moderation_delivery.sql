-- Moderation's messages, so that none is lost or sent twice across restarts: the cards sent
-- to moderators for each queued item (one per moderator per round; round 1 after an appeal)
-- and the notices owed to authors whose opinion or post was hidden or restored (written with
-- the decision, in the same transaction, whichever way it was made: a button or the CLI).

CREATE TABLE moderation_cards (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id    BIGINT NOT NULL REFERENCES moderation_items (id),
    round      BIGINT NOT NULL,
    channel    TEXT NOT NULL,
    -- The moderator's private chat. The row is written before the card is sent: at most
    -- once per moderator per round. The card's message id once Telegram took it, so that
    -- every moderator's copy shows the decision once someone decided.
    chat_id    TEXT NOT NULL,
    message_id TEXT,
    sent_at    TIMESTAMPTZ NOT NULL,
    UNIQUE (item_id, round, channel, chat_id)
);

CREATE TABLE moderation_notices (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    item_id    BIGINT NOT NULL REFERENCES moderation_items (id),
    contact_id BIGINT REFERENCES contacts (id) ON DELETE CASCADE,
    -- hidden: the item was upheld (after an appeal: the hide stands); restored: a hide was
    -- undone, an appeal granted, or a post hidden pending review kept; pending: a post was
    -- hidden pending review (enough reports) until a moderator decides.
    kind       TEXT NOT NULL CHECK (kind IN ('hidden', 'restored', 'pending')),
    -- The reason as the moderator gave it (the item's reason may change with a later decision).
    reason     TEXT NOT NULL,
    created_at TIMESTAMPTZ NOT NULL,
    -- Set when a sender took it (at most once: a crash while sending loses the notice).
    sent_at    TIMESTAMPTZ
);
CREATE INDEX moderation_notices_unsent ON moderation_notices (id) WHERE sent_at IS NULL;
