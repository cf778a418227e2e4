-- gopy schema for PostgreSQL: campaigns and their units, sections, topics and phases;
-- residents (contacts) kept apart from their identity; consents; dialog states; opinions and
-- their revisions; processed inbound updates (idempotency); the append-only audit log.

-- The administrative tree (ward, villages, residential groups, unions), shared by campaigns
-- and upserted by code on every campaign import.
CREATE TABLE units (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    code        TEXT NOT NULL UNIQUE,
    name        TEXT NOT NULL,
    parent_code TEXT,
    kind        TEXT NOT NULL
);

CREATE TABLE campaigns (
    id               BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    slug             TEXT NOT NULL UNIQUE,
    issuer           TEXT NOT NULL,
    title            TEXT NOT NULL,
    document_title   TEXT NOT NULL,
    intro            TEXT NOT NULL,
    purpose          TEXT NOT NULL,
    retention_months BIGINT NOT NULL CHECK (retention_months >= 0),
    notice_version   TEXT NOT NULL,
    created_at       TIMESTAMPTZ NOT NULL
);

-- The units a campaign covers, in file order; position 0 is the root.
CREATE TABLE campaign_units (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code   TEXT NOT NULL REFERENCES units (code),
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, unit_code)
);

CREATE TABLE campaign_target_groups (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, code)
);

CREATE TABLE sections (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    reference   TEXT NOT NULL,
    title       TEXT NOT NULL,
    summary     TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, reference)
);

CREATE TABLE topics (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    code        TEXT NOT NULL,
    title       TEXT NOT NULL,
    question    TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, code)
);

CREATE TABLE topic_sections (
    campaign_id BIGINT NOT NULL,
    topic_code  TEXT NOT NULL,
    section_ref TEXT NOT NULL,
    position    INTEGER NOT NULL,
    PRIMARY KEY (campaign_id, topic_code, section_ref),
    FOREIGN KEY (campaign_id, topic_code) REFERENCES topics (campaign_id, code) ON DELETE CASCADE,
    FOREIGN KEY (campaign_id, section_ref) REFERENCES sections (campaign_id, reference) ON DELETE CASCADE
);

CREATE TABLE phases (
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    kind        TEXT NOT NULL CHECK (kind IN ('announce', 'collect', 'synthesise', 'report')),
    position    INTEGER NOT NULL,
    starts_at   TIMESTAMPTZ NOT NULL,
    ends_at     TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (campaign_id, kind)
);

-- One person on one channel. No names here: identity lives in `identities`.
CREATE TABLE contacts (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    channel     TEXT NOT NULL,
    external_id TEXT NOT NULL,
    locale      TEXT NOT NULL,
    created_at  TIMESTAMPTZ NOT NULL,
    UNIQUE (channel, external_id)
);

-- Identity of residents who chose to give opinions with their name; deleted on erasure.
CREATE TABLE identities (
    contact_id   BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    display_name TEXT,
    username     TEXT,
    updated_at   TIMESTAMPTZ NOT NULL
);

-- Consents to a campaign's notice. Kept, unlinked from the contact, when a resident erases
-- themselves: the record that consent was given outlives the person's data.
CREATE TABLE consents (
    id             BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    contact_id     BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    campaign_id    BIGINT NOT NULL REFERENCES campaigns (id),
    purpose        TEXT NOT NULL DEFAULT 'opinions',
    mode           TEXT NOT NULL CHECK (mode IN ('named', 'anonymous')),
    notice_version TEXT NOT NULL,
    given_at       TIMESTAMPTZ NOT NULL
);
CREATE INDEX consents_contact ON consents (contact_id);

-- The persisted dialog state per resident, expiring at the campaign's close. No foreign key
-- on campaign_id: the state only names the campaign, and a key check on every step would
-- take a share lock on one hot campaigns row.
CREATE TABLE dialog_states (
    contact_id  BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    campaign_id BIGINT,
    state       JSONB NOT NULL,
    updated_at  TIMESTAMPTZ NOT NULL,
    expires_at  TIMESTAMPTZ
);

CREATE TABLE opinions (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    reference    TEXT NOT NULL,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id),
    contact_id   BIGINT REFERENCES contacts (id) ON DELETE SET NULL,
    topic_code   TEXT NOT NULL,
    section_ref  TEXT,
    unit_code    TEXT,
    target_group TEXT,
    channel      TEXT NOT NULL,
    source       TEXT NOT NULL,
    anonymous    BOOLEAN NOT NULL,
    text         TEXT NOT NULL,
    status       TEXT NOT NULL DEFAULT 'draft' CHECK (status IN ('draft', 'submitted', 'withdrawn')),
    receipt      TEXT,
    created_at   TIMESTAMPTZ NOT NULL,
    submitted_at TIMESTAMPTZ,
    edited_at    TIMESTAMPTZ,
    withdrawn_at TIMESTAMPTZ,
    UNIQUE (campaign_id, reference)
);
CREATE INDEX opinions_contact_campaign ON opinions (contact_id, campaign_id);

-- Every earlier text of an edited opinion: nothing a resident gave is lost.
CREATE TABLE opinion_revisions (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    opinion_id  BIGINT NOT NULL REFERENCES opinions (id) ON DELETE CASCADE,
    text        TEXT NOT NULL,
    replaced_at TIMESTAMPTZ NOT NULL
);
CREATE INDEX opinion_revisions_opinion ON opinion_revisions (opinion_id);

-- Inbound updates already processed, so a redelivery is processed once.
CREATE TABLE processed_updates (
    channel      TEXT NOT NULL,
    update_key   TEXT NOT NULL,
    processed_at TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (channel, update_key)
);

-- Every export and official action, append-only: no code path updates or deletes a line, and
-- the trigger below refuses it if anything tries.
CREATE TABLE audit_log (
    id     BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    at     TIMESTAMPTZ NOT NULL,
    actor  TEXT NOT NULL,
    action TEXT NOT NULL,
    detail JSONB NOT NULL
);

CREATE FUNCTION audit_log_append_only() RETURNS trigger LANGUAGE plpgsql AS $$
BEGIN
    RAISE EXCEPTION 'audit_log is append-only';
END;
$$;

CREATE TRIGGER audit_log_append_only
    BEFORE UPDATE OR DELETE OR TRUNCATE ON audit_log
    FOR EACH STATEMENT EXECUTE FUNCTION audit_log_append_only();
