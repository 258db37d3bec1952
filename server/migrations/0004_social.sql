-- Notifications with per-conversation mutes, full-text search over messages, and contacts with
-- contact requests. Numbered 0004: 0003 belongs to teams, developed alongside. Released migrations
-- are never edited; add a new numbered file instead.

-- A user's muted conversations: no notifications from them for that user.
CREATE TABLE conversation_mutes (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    muted_at        INTEGER NOT NULL,
    PRIMARY KEY (user_id, conversation_id)
) WITHOUT ROWID;

CREATE TABLE notifications (
    id                 INTEGER PRIMARY KEY,
    user_id            INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    kind               TEXT    NOT NULL,
    actor_id           INTEGER REFERENCES users (id) ON DELETE SET NULL,
    conversation_id    INTEGER REFERENCES conversations (id) ON DELETE CASCADE,
    message_id         INTEGER REFERENCES messages (id) ON DELETE CASCADE,
    contact_request_id INTEGER,
    preview            TEXT    NOT NULL,
    created_at         INTEGER NOT NULL,                -- Unix ms
    read_at            INTEGER
);
CREATE INDEX notifications_user ON notifications (user_id, id);
CREATE INDEX notifications_user_unread ON notifications (user_id, id) WHERE read_at IS NULL;
CREATE INDEX notifications_message ON notifications (message_id) WHERE message_id IS NOT NULL;

-- A notification quotes its message as it is now: an edit changes the quote, a delete (which
-- empties the body) removes it, in the same transaction as the change.
CREATE TRIGGER notifications_follow_message AFTER UPDATE OF body ON messages BEGIN
    UPDATE notifications SET preview = substr(new.body, 1, 140) WHERE message_id = new.id;
END;

-- Full-text index over the text of messages that are not deleted. External content: the text lives
-- once, in `messages`; the triggers keep the index in step with every insert, edit and delete, in
-- the same transaction as the change.
CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE deleted_at IS NULL;

CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages WHEN new.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts (rowid, body) VALUES (new.id, new.body);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;
    INSERT INTO messages_fts (rowid, body)
        SELECT new.id, new.body WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;

CREATE TABLE contact_requests (
    id          INTEGER PRIMARY KEY,
    from_user   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    to_user     INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    status      TEXT    NOT NULL CHECK (status IN ('pending', 'accepted', 'declined', 'cancelled')),
    created_at  INTEGER NOT NULL,
    resolved_at INTEGER
);
-- At most one pending request per pair, whichever way it goes.
CREATE UNIQUE INDEX contact_requests_pending_pair
    ON contact_requests (min(from_user, to_user), max(from_user, to_user))
    WHERE status = 'pending';
CREATE INDEX contact_requests_to ON contact_requests (to_user, status);
CREATE INDEX contact_requests_from ON contact_requests (from_user, status);

-- Two rows per pair of contacts, one for each side, so "my contacts" is one index range.
CREATE TABLE contacts (
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    contact_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    since      INTEGER NOT NULL,
    PRIMARY KEY (user_id, contact_id)
) WITHOUT ROWID;
