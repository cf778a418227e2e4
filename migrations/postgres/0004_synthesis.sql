-- Synthesis: opinions heard at meetings or imported from the tables units send (with where
-- each came from), officials' classification (extra topics and sections, stance), exact
-- duplicates of one person's text, near-duplicate groups across residents, and the view the
-- synthesis counts from. Every official change is written to audit_log in the same
-- transaction.

-- A meeting or conference where officials heard opinions.
CREATE TABLE meetings (
    id           BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id  BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    name         TEXT NOT NULL,
    held_on      DATE NOT NULL,
    place        TEXT NOT NULL,
    -- The unit that held it and the audience (a target group code), if one.
    unit_code    TEXT REFERENCES units (code),
    target_group TEXT,
    -- Who wrote the opinions down (a staff user name or the person's name as typed).
    recorder     TEXT NOT NULL,
    created_by   TEXT NOT NULL,
    created_at   TIMESTAMPTZ NOT NULL,
    UNIQUE (campaign_id, name, held_on)
);

-- Where an opinion recorded by an official came from: a meeting, or a row of an imported
-- file. Chat and web opinions have no row here.
CREATE TABLE opinion_provenance (
    opinion_id  BIGINT PRIMARY KEY REFERENCES opinions (id) ON DELETE CASCADE,
    meeting_id  BIGINT REFERENCES meetings (id),
    source_file TEXT,
    -- For an opinion rolled up from a lower level's signed bundle: `<unit>/<campaign>/<reference>`
    -- there, so the same opinion is never imported twice and can be traced back.
    origin      TEXT,
    source_row  BIGINT,
    recorded_by TEXT NOT NULL,
    recorded_at TIMESTAMPTZ NOT NULL,
    CHECK (meeting_id IS NOT NULL OR source_file IS NOT NULL)
);
CREATE INDEX opinion_provenance_meeting ON opinion_provenance (meeting_id);
CREATE UNIQUE INDEX opinion_provenance_origin ON opinion_provenance (origin)
    WHERE origin IS NOT NULL;

-- Who spoke at a meeting or is named in an imported row, kept apart from the opinion like
-- `identities`: only a named export, asked for with a reason, reads it. `person_key` is the
-- normalised name and phone, so one person is counted once and their repeated text once.
CREATE TABLE opinion_speakers (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions (id) ON DELETE CASCADE,
    name       TEXT,
    phone      TEXT,
    person_key TEXT NOT NULL
);
CREATE INDEX opinion_speakers_person ON opinion_speakers (person_key);

-- Topics and sections an official added to an opinion beside its own ('' = no section).
CREATE TABLE opinion_labels (
    opinion_id  BIGINT NOT NULL REFERENCES opinions (id) ON DELETE CASCADE,
    topic_code  TEXT NOT NULL,
    section_ref TEXT NOT NULL DEFAULT '',
    added_by    TEXT NOT NULL,
    added_at    TIMESTAMPTZ NOT NULL,
    PRIMARY KEY (opinion_id, topic_code, section_ref)
);

-- The stance an official read in an opinion.
CREATE TABLE opinion_stances (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions (id) ON DELETE CASCADE,
    stance     TEXT NOT NULL CHECK (stance IN ('agree', 'change', 'disagree', 'other')),
    set_by     TEXT NOT NULL,
    set_at     TIMESTAMPTZ NOT NULL
);

-- An opinion that repeats, word for word once normalised, an earlier one of the same person:
-- kept, listed as excluded, counted once (as the earlier one).
CREATE TABLE opinion_duplicates (
    opinion_id   BIGINT PRIMARY KEY REFERENCES opinions (id) ON DELETE CASCADE,
    duplicate_of BIGINT NOT NULL REFERENCES opinions (id) ON DELETE CASCADE
);

-- Opinions of different residents saying nearly the same thing. The representative is
-- chosen by an official (`chosen_by`) or, when NULL, is the most central member.
CREATE TABLE opinion_groups (
    id                BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id       BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    representative_id BIGINT REFERENCES opinions (id) ON DELETE SET NULL,
    chosen_by         TEXT,
    -- Whether an official merged, split or edited it (a rebuild then leaves it alone).
    confirmed         BOOLEAN NOT NULL DEFAULT FALSE,
    created_at        TIMESTAMPTZ NOT NULL
);
CREATE INDEX opinion_groups_campaign ON opinion_groups (campaign_id);

CREATE TABLE opinion_group_members (
    opinion_id BIGINT PRIMARY KEY REFERENCES opinions (id) ON DELETE CASCADE,
    group_id   BIGINT NOT NULL REFERENCES opinion_groups (id) ON DELETE CASCADE
);
CREATE INDEX opinion_group_members_group ON opinion_group_members (group_id);

-- Every opinion with what the synthesis needs: its source as reports name it (the channel
-- for chat and web, else meeting or import), the person it counts for, and why it is
-- excluded (NULL = kept and counted). Pending moderation is not counted until kept.
CREATE VIEW synthesis_opinions AS
SELECT o.id, o.campaign_id, o.reference, o.topic_code, o.section_ref, o.unit_code,
       o.target_group, o.text, o.created_at, o.contact_id,
       CASE WHEN o.source IN ('meeting', 'import') THEN o.source ELSE o.channel END AS source,
       CASE WHEN o.contact_id IS NOT NULL THEN 'c' || o.contact_id
            WHEN s.person_key IS NOT NULL THEN 's' || s.person_key
            ELSE 'o' || o.id END AS person,
       CASE WHEN o.status = 'withdrawn' THEN 'withdrawn'
            WHEN o.status = 'draft' THEN 'draft'
            WHEN m.state = 'pending' THEN 'pending'
            WHEN m.state = 'hidden' THEN 'hidden'
            WHEN d.opinion_id IS NOT NULL THEN 'duplicate'
            ELSE NULL END AS exclusion,
       m.reason AS moderation_reason,
       st.stance
FROM opinions o
LEFT JOIN opinion_moderation m ON m.opinion_id = o.id
LEFT JOIN opinion_duplicates d ON d.opinion_id = o.id
LEFT JOIN opinion_speakers s ON s.opinion_id = o.id
LEFT JOIN opinion_stances st ON st.opinion_id = o.id;

CREATE INDEX opinions_campaign_status ON opinions (campaign_id, status);

-- Each synthesis an official built: when, by whom, for which unit (NULL = the whole
-- campaign), and its counts as JSON, so a delivered report can be traced to its figures.
CREATE TABLE synthesis_builds (
    id          BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    campaign_id BIGINT NOT NULL REFERENCES campaigns (id) ON DELETE CASCADE,
    unit_code   TEXT,
    built_by    TEXT NOT NULL,
    built_at    TIMESTAMPTZ NOT NULL,
    summary     TEXT NOT NULL
);
CREATE INDEX synthesis_builds_campaign ON synthesis_builds (campaign_id, id);
