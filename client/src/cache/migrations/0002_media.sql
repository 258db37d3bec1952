-- Downloaded media (attachments and thumbnails) on disk, for least-recently-used eviction.
CREATE TABLE media_files (
    key       TEXT PRIMARY KEY,   -- file name in the media directory
    size      INTEGER NOT NULL,
    last_used INTEGER NOT NULL    -- Unix milliseconds
) WITHOUT ROWID;
CREATE INDEX media_files_by_use ON media_files (last_used);
