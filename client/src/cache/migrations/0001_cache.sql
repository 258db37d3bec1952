-- The client's local cache: what this account has seen on this server, readable offline.
-- Server objects are kept as the JSON the server sent (updated by events), with the columns needed
-- for ordering, lookups and search pulled out beside them.

CREATE TABLE meta (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;

CREATE TABLE users (
    id       INTEGER PRIMARY KEY,
    username TEXT NOT NULL,
    json     TEXT NOT NULL
);
CREATE INDEX users_by_username ON users (username);

CREATE TABLE teams (
    id   INTEGER PRIMARY KEY,
    json TEXT NOT NULL
);

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    json             TEXT NOT NULL,
    last_activity_at TEXT NOT NULL,
    -- Last conversation event applied: what the hello's resume asks to continue from.
    position         INTEGER NOT NULL,
    -- Messages with seq >= history_from (up to position) are all cached; NULL: none are.
    history_from     INTEGER,
    -- The conversation's first message is cached (nothing older to fetch).
    history_complete INTEGER NOT NULL DEFAULT 0
);
CREATE INDEX conversations_by_activity ON conversations (last_activity_at DESC);

CREATE TABLE messages (
    id              INTEGER PRIMARY KEY,
    conversation_id INTEGER NOT NULL,
    seq             INTEGER NOT NULL,
    client_id       TEXT NOT NULL,
    reply_to        INTEGER,
    created_at      TEXT NOT NULL,
    -- The searchable text (empty once deleted); the full message is in json.
    text            TEXT NOT NULL,
    json            TEXT NOT NULL
);
CREATE UNIQUE INDEX messages_by_seq ON messages (conversation_id, seq);
CREATE INDEX messages_by_client_id ON messages (conversation_id, client_id);
CREATE INDEX messages_by_thread ON messages (reply_to) WHERE reply_to IS NOT NULL;

CREATE VIRTUAL TABLE messages_fts USING fts5(
    text,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2'
);
CREATE TRIGGER messages_fts_insert AFTER INSERT ON messages BEGIN
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
END;
CREATE TRIGGER messages_fts_update AFTER UPDATE OF text ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, text) VALUES ('delete', old.id, old.text);
    INSERT INTO messages_fts (rowid, text) VALUES (new.id, new.text);
END;

CREATE TABLE read_receipts (
    conversation_id INTEGER NOT NULL,
    user_id         INTEGER NOT NULL,
    read_seq        INTEGER NOT NULL,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;

CREATE TABLE notifications (
    id   INTEGER PRIMARY KEY,
    read INTEGER NOT NULL,
    json TEXT NOT NULL
);

-- Changes made here that the server has not confirmed yet, in the order they were made.
CREATE TABLE outbox (
    id              INTEGER PRIMARY KEY AUTOINCREMENT,
    conversation_id INTEGER NOT NULL,
    op              TEXT NOT NULL,
    -- A send: its message's client_id (the idempotency key the server deduplicates on).
    client_id       TEXT,
    -- pending | sending | failed
    state           TEXT NOT NULL,
    error_code      TEXT,
    error_message   TEXT,
    attempts        INTEGER NOT NULL DEFAULT 0,
    created_at      TEXT NOT NULL
);
CREATE INDEX outbox_by_conversation ON outbox (conversation_id, id);
CREATE UNIQUE INDEX outbox_by_client_id ON outbox (client_id) WHERE client_id IS NOT NULL;

CREATE TABLE drafts (
    conversation_id INTEGER PRIMARY KEY,
    text            TEXT NOT NULL,
    reply_to        INTEGER,
    updated_at      TEXT NOT NULL
);
