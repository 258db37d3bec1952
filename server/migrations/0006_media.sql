-- Media: content-addressed blobs (one per distinct content), attachments that point at them,
-- resumable upload sessions, and avatars of users and teams. The bytes live in the object store
-- (a directory or an S3 bucket) under `blobs/<sha256>` and `thumbs/<sha256>`; these rows are the
-- index and the reference counts. Released migrations are never edited; add a new numbered file.

CREATE TABLE media_blobs (
    sha256          TEXT    PRIMARY KEY,                -- lowercase hex, also the object name
    size            INTEGER NOT NULL,
    content_type    TEXT    NOT NULL,                   -- detected from the bytes
    width           INTEGER,                            -- images, upright
    height          INTEGER,
    -- 'none' (not an image), 'pending' (being made), 'ready', 'failed'
    thumbnail_state TEXT    NOT NULL DEFAULT 'none'
                    CHECK (thumbnail_state IN ('none', 'pending', 'ready', 'failed')),
    thumbnail_type  TEXT,
    created_at      INTEGER NOT NULL
) WITHOUT ROWID;

CREATE TABLE attachments (
    id          INTEGER PRIMARY KEY,
    uploader_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    blob_sha256 TEXT    NOT NULL REFERENCES media_blobs (sha256),
    kind        TEXT    NOT NULL CHECK (kind IN ('file', 'image', 'voice')),
    name        TEXT    NOT NULL,
    duration_ms INTEGER,
    waveform    BLOB,
    -- NULL until sent with a message; unattached rows older than the TTL are swept.
    message_id  INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    position    INTEGER NOT NULL DEFAULT 0,
    created_at  INTEGER NOT NULL
);
CREATE INDEX attachments_message ON attachments (message_id, position);
CREATE INDEX attachments_unattached ON attachments (created_at) WHERE message_id IS NULL;
CREATE INDEX attachments_blob ON attachments (blob_sha256);

-- Resumable uploads in progress; the bytes so far are in <data-dir>/uploads/<id>.part.
CREATE TABLE uploads (
    id          TEXT    PRIMARY KEY,
    uploader_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    name        TEXT    NOT NULL,
    kind        TEXT    NOT NULL CHECK (kind IN ('file', 'image', 'voice')),
    size        INTEGER NOT NULL,
    received    INTEGER NOT NULL DEFAULT 0,
    sha256      TEXT,                                   -- declared by the client, checked at the end
    duration_ms INTEGER,
    waveform    BLOB,
    created_at  INTEGER NOT NULL,
    updated_at  INTEGER NOT NULL
) WITHOUT ROWID;
CREATE INDEX uploads_updated ON uploads (updated_at);

ALTER TABLE users ADD COLUMN avatar_sha256 TEXT REFERENCES media_blobs (sha256);
ALTER TABLE teams ADD COLUMN avatar_sha256 TEXT REFERENCES media_blobs (sha256);
