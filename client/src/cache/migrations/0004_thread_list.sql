-- The Threads view offline (issue 13): the list as the server last gave it, in its order. The
-- roots themselves are in `messages` (kept current by sync), so this holds only which threads
-- and when each last had a reply.
CREATE TABLE thread_list (
    position      INTEGER PRIMARY KEY,
    root_id       INTEGER NOT NULL,
    last_reply_at TEXT NOT NULL
);
