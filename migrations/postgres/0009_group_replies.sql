-- Replies in a bound group become opinions. gopy remembers every post it makes into a group
-- (a campaign's thread: one post for the campaign, one per topic), so that a resident's reply
-- to one of them, or to a reply to one of them, maps to its campaign, topic and the group's
-- unit. Agreements (an emoji, a sticker, "đồng ý", "+1") are kept apart from opinions and
-- counted in the synthesis.

-- A post gopy makes (or will make) into a group. `topic_code` NULL is the campaign's post:
-- replies to it are opinions for officials to classify. A post waits (`pending`) until the
-- bot sends it, which fills the chat and message ids.
CREATE TABLE group_posts (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_group_id BIGINT NOT NULL REFERENCES chat_groups (id),
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    topic_code    TEXT,
    section_ref   TEXT,
    state         TEXT NOT NULL DEFAULT 'pending' CHECK (state IN ('pending', 'sent', 'failed')),
    attempts      BIGINT NOT NULL DEFAULT 0,
    not_before    TIMESTAMPTZ NOT NULL,
    lease_until   TIMESTAMPTZ,
    chat_id       TEXT,
    message_id    TEXT,
    error         TEXT,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    sent_at       TIMESTAMPTZ
);
CREATE UNIQUE INDEX group_posts_message ON group_posts (chat_group_id, message_id)
    WHERE message_id IS NOT NULL;
CREATE INDEX group_posts_pending ON group_posts (not_before) WHERE state = 'pending';

-- A resident's message in a group that answers one of gopy's posts, directly or through
-- another recorded reply (it then has the same post): the opinion it became, or an agreement.
-- `contact_id` is NULL once the reply is anonymous (the resident asked, or could not be asked).
CREATE TABLE group_replies (
    id            BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    chat_group_id BIGINT NOT NULL REFERENCES chat_groups (id),
    message_id    TEXT NOT NULL,
    post_id       BIGINT NOT NULL REFERENCES group_posts (id) ON DELETE CASCADE,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    topic_code    TEXT,
    unit_code     TEXT,
    contact_id    BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    opinion_id    BIGINT REFERENCES opinions (id) ON DELETE SET NULL,
    agreement     BOOLEAN NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    edited_at     TIMESTAMPTZ,
    UNIQUE (chat_group_id, message_id)
);
CREATE INDEX group_replies_campaign ON group_replies (campaign_id) WHERE agreement;
CREATE INDEX group_replies_contact ON group_replies (contact_id, campaign_id);

-- The private notice a resident gets the first time one of their replies is recorded in a
-- campaign: taken (`pending`) before it is sent, so it goes at most once; `unreachable` when
-- Telegram refused the private message (their replies are then stored anonymously); and the
-- resident's choice (keep, anonymous, withdraw) once they pressed a button.
CREATE TABLE group_reply_notices (
    contact_id  BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    state       TEXT NOT NULL CHECK (state IN ('pending', 'sent', 'unreachable')),
    choice      TEXT CHECK (choice IN ('keep', 'anonymous', 'withdraw')),
    changed_at  TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (contact_id, campaign_id)
);

-- Acknowledgements given in a group: at most one per resident per post.
CREATE TABLE group_reply_acks (
    post_id    BIGINT NOT NULL REFERENCES group_posts (id) ON DELETE CASCADE,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    acked_at   TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (post_id, contact_id)
);

-- How gopy acknowledges replies in a group (a reaction by default; a short reply; nothing).
CREATE TABLE group_reply_settings (
    chat_group_id BIGINT PRIMARY KEY REFERENCES chat_groups (id),
    ack           TEXT NOT NULL CHECK (ack IN ('reaction', 'reply', 'silent')),
    changed_by    TEXT NOT NULL,
    changed_at    TIMESTAMPTZ NOT NULL
);

-- A voice note, audio, photo or document a resident gave as (part of) an opinion: the file is
-- kept in gopy's storage under `storage_key` (never sent anywhere without authorisation). The
-- row goes with the opinion, and with the resident when they erase themselves (`/delete_me`:
-- the contact row is deleted); files no row names are removed from storage by the sweeper.
-- A transcription an official typed is kept beside the original, marked with who and when.
CREATE TABLE opinion_files (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id     BIGINT NOT NULL REFERENCES opinions (id) ON DELETE CASCADE,
    contact_id     BIGINT REFERENCES contacts (id) ON DELETE CASCADE,
    kind           TEXT NOT NULL CHECK (kind IN ('voice', 'audio', 'photo', 'document')),
    mime_type      TEXT NOT NULL,
    size_bytes     BIGINT NOT NULL,
    storage_key    TEXT NOT NULL,
    transcription  TEXT,
    transcribed_by TEXT,
    transcribed_at TIMESTAMPTZ,
    created_at     TIMESTAMPTZ NOT NULL
);
CREATE INDEX opinion_files_opinion ON opinion_files (opinion_id);
CREATE INDEX opinion_files_key ON opinion_files (storage_key);

-- Reports on their due dates: on each date a campaign declares, the synthesis (or the counts
-- so far) is built and delivered to the officials who subscribed, in their private chat and
-- as a file — for the date's unit, or the subscriber's own unit when narrower. A date is taken
-- (`taken_at`) in the statement that finds it due, so it goes once however many processes run.
CREATE TABLE report_dates (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code   TEXT,
    due_at      TIMESTAMPTZ NOT NULL,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    taken_at    TIMESTAMPTZ
);
CREATE INDEX report_dates_due ON report_dates (due_at) WHERE taken_at IS NULL;

-- Officials who receive a campaign's reports.
CREATE TABLE report_subscriptions (
    staff_user_id BIGINT NOT NULL REFERENCES staff_users (id) ON DELETE CASCADE,
    campaign_id   BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    created_by    TEXT NOT NULL,
    created_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (staff_user_id, campaign_id)
);

-- A daily digest during collection for the campaign's subscribers (unit leads): who took part,
-- which topics are thin, which bound groups were not reached; once a day at the hour set
-- (Vietnam time). `last_day` is the day last taken, so each day's digest goes once.
CREATE TABLE report_digests (
    campaign_id BIGINT PRIMARY KEY REFERENCES campaigns (id) ON DELETE CASCADE,
    hour        BIGINT NOT NULL CHECK (hour BETWEEN 0 AND 23),
    last_day    TEXT,
    created_by  TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL
);
