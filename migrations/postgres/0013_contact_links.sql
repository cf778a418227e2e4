-- Identity across channels: a resident on Telegram and on Zalo is two contacts unless they
-- link them with a one-time code. A link names the same "person" for both contacts and is
-- used only to count a person once (the synthesis' participants); opinions keep their
-- channel and contact, and no name or other identity is copied between contacts.

-- One person who linked two or more contacts. Deleted when fewer than two remain linked.
CREATE TABLE linked_persons (
    id         BIGINT GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    created_at TIMESTAMPTZ NOT NULL
);

-- Which person a contact belongs to (a contact not here is a person of its own).
CREATE TABLE contact_links (
    contact_id BIGINT PRIMARY KEY REFERENCES contacts (id) ON DELETE CASCADE,
    person_id  BIGINT NOT NULL REFERENCES linked_persons (id) ON DELETE CASCADE,
    linked_at  TIMESTAMPTZ NOT NULL
);
CREATE INDEX contact_links_person ON contact_links (person_id);

-- One-time link codes, kept only as SHA-256 hashes; a code works once, before expires_at.
CREATE TABLE contact_link_codes (
    code_hash  TEXT PRIMARY KEY,
    contact_id BIGINT NOT NULL REFERENCES contacts (id) ON DELETE CASCADE,
    created_at TIMESTAMPTZ NOT NULL,
    expires_at TIMESTAMPTZ NOT NULL,
    used_at    TIMESTAMPTZ
);
CREATE INDEX contact_link_codes_contact ON contact_link_codes (contact_id);

-- The synthesis counts a linked person once: their contacts share the person key 'p<id>'.
CREATE OR REPLACE VIEW synthesis_opinions AS
SELECT o.id, o.campaign_id, o.reference, o.topic_code, o.section_ref, o.unit_code,
       o.target_group, o.text, o.created_at, o.contact_id,
       CASE WHEN o.source IN ('meeting', 'import') THEN o.source ELSE o.channel END AS source,
       CASE WHEN cl.person_id IS NOT NULL THEN 'p' || cl.person_id
            WHEN o.contact_id IS NOT NULL THEN 'c' || o.contact_id
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
LEFT JOIN opinion_stances st ON st.opinion_id = o.id
LEFT JOIN contact_links cl ON cl.contact_id = o.contact_id;
