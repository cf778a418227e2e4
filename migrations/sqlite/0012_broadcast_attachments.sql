-- A broadcast's attachment (at most one): the draft as PDF or DOCX, or an image (JPEG, PNG),
-- kept in the database with its checksum. gopy serves it at /tep/<token>: the token is 128
-- random bits, so only those who were sent the link can fetch it.
CREATE TABLE broadcast_attachments (
    broadcast_id INTEGER PRIMARY KEY REFERENCES broadcasts (id),
    token        TEXT NOT NULL UNIQUE,
    file_name    TEXT NOT NULL,
    media_type   TEXT NOT NULL CHECK (media_type IN ('application/pdf',
                     'application/vnd.openxmlformats-officedocument.wordprocessingml.document',
                     'image/jpeg', 'image/png')),
    sha256       TEXT NOT NULL,
    size         INTEGER NOT NULL,
    bytes        BLOB NOT NULL,
    created_at   TEXT NOT NULL
) STRICT;
