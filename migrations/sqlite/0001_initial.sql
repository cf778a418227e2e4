-- gopy schema for SQLite: campaigns and their units, sections, topics and phases; residents
-- (contacts) kept apart from their identity; consents; dialog states; opinions and their
-- revisions; processed inbound updates (idempotency); the append-only audit log.
-- Timestamps are RFC 3339 text in UTC as sqlx writes chrono::DateTime<Utc>.

-- The administrative tree (ward, villages, residential groups, unions), shared by campaigns
-- and upserted by code on every campaign import.
CREATE TABLE units (
    id          INTEGER PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_code TEXT,
    kind        TEXT NOT NULL
) STRICT;

CREATE TABLE campaigns (
    id               INTEGER PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    issuer           TEXT NOT NULL,
    title            TEXT NOT NULL,
    document_title   TEXT NOT NULL,
    intro            TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    retention_months INTEGER NOT NULL CHECK (retention_months >= 0),
    notice_version   TEXT NOT NULL,
    created_at       TEXT NOT NULL
) STRICT;

-- The units a campaign covers, in file order; position 0 is the root.
CREATE TABLE campaign_units (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL REFERENCES units (code),
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, unit_code)
) STRICT;

CREATE TABLE campaign_target_groups (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, code)
) STRICT;

CREATE TABLE sections (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    reference   TEXT NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, reference)
) STRICT;

CREATE TABLE topics (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    question    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, code)
) STRICT;

CREATE TABLE topic_sections (
    campaign_id INTEGER NOT NULL,
    topic_code  TEXT NOT NULL,
    section_ref TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, topic_code, section_ref),
    FOREIGN KEY (campaign_id, topic_code) REFERENCES topics (campaign_id, code) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, section_ref) REFERENCES sections (campaign_id, reference) ON DELETE CASCADE
) STRICT;

CREATE TABLE phases (
    campaign_id INTEGER NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('announce', 'collect', 'synthesise', 'report')),
    position    INTEGER NOT NULL,
    starts_at   TEXT NOT NULL,
    ends_at     TEXT NOT NULL,
    PRIMARY KEY (campaign_id, kind)
) STRICT;

-- One person on one channel. No names here: identity lives in `identities`. AUTOINCREMENT so
-- that the id of an erased contact is never given to someone else.
CREATE TABLE contacts (
    id          INTEGER PRIMARY KEY AUTOINCREMENT,
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    locale      TEXT NOT NULL,
    created_at  TEXT NOT NULL,
    UNIQUE (channel, external_id)
) STRICT;

-- Identity of residents who chose to give opinions with their name; deleted on erasure.
CREATE TABLE identities (
    contact_id   INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    display_name TEXT,
    username     TEXT,
    updated_at   TEXT NOT NULL
) STRICT;

-- Consents to a campaign's notice. Kept, unlinked from the contact, when a resident erases
-- themselves: the record that consent was given outlives the person's data.
CREATE TABLE consents (
    id             INTEGER PRIMARY KEY,
    contact_id     INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    campaign_id    INTEGER NOT NULL REFERENCES campaigns (id),
    purpose        TEXT NOT NULL DEFAULT 'opinions',
    mode           TEXT NOT NULL CHECK (mode IN ('named', 'anonymous')),
    notice_version TEXT NOT NULL,
    given_at       TEXT NOT NULL
) STRICT;
CREATE INDEX consents_contact ON consents (contact_id);

-- The persisted dialog state per resident (JSON), expiring at the campaign's close.
CREATE TABLE dialog_states (
    contact_id  INTEGER PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id INTEGER,
    state       TEXT NOT NULL,
    updated_at  TEXT NOT NULL,
    expires_at  TEXT
) STRICT;

CREATE TABLE opinions (
    id           INTEGER PRIMARY KEY,
    reference    TEXT NOT NULL,
    campaign_id  INTEGER NOT NULL REFERENCES campaigns (id),
    contact_id   INTEGER REFERENCES contacts (id) ON DELETE SET NULL,
    topic_code   TEXT NOT NULL,
    section_ref  TEXT,
    unit_code    TEXT,
    target_group TEXT,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,
    anonymous    INTEGER NOT NULL CHECK (anonymous IN (0, 1)),
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'withdrawn')),
    receipt      TEXT,
    created_at   TEXT NOT NULL,
    submitted_at TEXT,
    edited_at    TEXT,
    withdrawn_at TEXT,
    UNIQUE (campaign_id, reference)
) STRICT;
CREATE INDEX opinions_contact_campaign ON opinions (contact_id, campaign_id);

-- Every earlier text of an edited opinion: nothing a resident gave is lost.
CREATE TABLE opinion_revisions (
    id          INTEGER PRIMARY KEY,
    opinion_id  INTEGER NOT NULL REFERENCES opinions (id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    replaced_at TEXT NOT NULL
) STRICT;
CREATE INDEX opinion_revisions_opinion ON opinion_revisions (opinion_id);

-- Inbound updates already processed, so a redelivery is processed once.
CREATE TABLE processed_updates (
    channel      TEXT NOT NULL,
    update_key   TEXT NOT NULL,
    processed_at TEXT NOT NULL,
    PRIMARY KEY (channel, update_key)
) STRICT, WITHOUT ROWID;

-- Every export and official action, append-only: no code path updates or deletes a line, and
-- the triggers below refuse it if anything tries.
CREATE TABLE audit_log (
    id     INTEGER PRIMARY KEY,
    at     TEXT NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail TEXT NOT NULL
) STRICT;

CREATE TRIGGER audit_log_no_update BEFORE UPDATE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;

CREATE TRIGGER audit_log_no_delete BEFORE DELETE ON audit_log
BEGIN
    SELECT RAISE(ABORT, 'audit_log is append-only');
END;
