-- The storage quota sums a user's attachments and unfinished uploads on every new upload.
CREATE INDEX attachments_uploader ON attachments (uploader_id);
CREATE INDEX uploads_uploader ON uploads (uploader_id);
