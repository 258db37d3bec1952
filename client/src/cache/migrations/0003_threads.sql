-- Threads that stay out of the channel (issue 13): the timeline leaves out the replies whose
-- sender kept them in their thread, so that flag is a column beside the message's JSON.
ALTER TABLE messages ADD COLUMN thread_only INTEGER NOT NULL DEFAULT 0;
UPDATE messages SET thread_only = 1 WHERE json_extract(json, '$.thread_only') = 1;

-- How much of each thread this account has seen here: the root's reply count when its thread
-- was last shown. The Threads view's unread count is the replies beyond it.
CREATE TABLE thread_reads (
    root_id    INTEGER PRIMARY KEY,
    read_count INTEGER NOT NULL
) WITHOUT ROWID;
