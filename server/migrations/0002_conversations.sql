-- Conversations (channels, group rooms, direct conversations), members with roles and read
-- positions, messages with replies/mentions/reactions/pins, and the two event logs clients resume
-- from. Released migrations are never edited; add a new numbered file instead.

CREATE TABLE conversations (
    id               INTEGER PRIMARY KEY,
    kind             TEXT    NOT NULL CHECK (kind IN ('channel', 'group', 'direct')),
    name             TEXT,
    -- Direct conversations: "<smaller user id>:<larger user id>", so one exists per pair.
    direct_key       TEXT    UNIQUE,
    created_by       INTEGER NOT NULL REFERENCES users (id),
    created_at       INTEGER NOT NULL,                  -- Unix ms
    -- Position of the newest event; the next event gets last_seq + 1 in the same transaction.
    last_seq         INTEGER NOT NULL DEFAULT 0,
    last_activity_at INTEGER NOT NULL
);
CREATE INDEX conversations_last_activity ON conversations (last_activity_at);

CREATE TABLE conversation_members (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    user_id         INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role            TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at       INTEGER NOT NULL,
    joined_seq      INTEGER NOT NULL,                   -- seq of the member_added event
    read_seq        INTEGER NOT NULL DEFAULT 0,
    PRIMARY KEY (conversation_id, user_id)
) WITHOUT ROWID;
CREATE INDEX conversation_members_user ON conversation_members (user_id);

CREATE TABLE messages (
    id               INTEGER PRIMARY KEY,
    conversation_id  INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq              INTEGER NOT NULL,                  -- seq of the message_created event
    sender_id        INTEGER NOT NULL REFERENCES users (id),
    client_id        TEXT    NOT NULL,
    body             TEXT    NOT NULL,
    reply_to         INTEGER REFERENCES messages (id),
    created_at       INTEGER NOT NULL,
    edited_at        INTEGER,
    deleted_at       INTEGER,
    pinned_at        INTEGER,
    mentions_channel INTEGER NOT NULL DEFAULT 0,
    mentions_here    INTEGER NOT NULL DEFAULT 0,
    UNIQUE (sender_id, client_id)                       -- idempotent sends
);
CREATE UNIQUE INDEX messages_conversation_seq ON messages (conversation_id, seq);
CREATE INDEX messages_reply_to ON messages (reply_to, seq);

CREATE TABLE message_mentions (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    PRIMARY KEY (message_id, user_id)
) WITHOUT ROWID;
CREATE INDEX message_mentions_user ON message_mentions (user_id);

CREATE TABLE reactions (
    message_id INTEGER NOT NULL REFERENCES messages (id) ON DELETE CASCADE,
    emoji      TEXT    NOT NULL,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    PRIMARY KEY (message_id, emoji, user_id)
) WITHOUT ROWID;

-- Per-conversation event log. `data` is the backend-neutral JSON of storage::EventData.
CREATE TABLE conversation_events (
    conversation_id INTEGER NOT NULL REFERENCES conversations (id) ON DELETE CASCADE,
    seq             INTEGER NOT NULL,
    actor_id        INTEGER NOT NULL,
    at              INTEGER NOT NULL,
    data            TEXT    NOT NULL,
    PRIMARY KEY (conversation_id, seq)
) WITHOUT ROWID;

-- Per-user event log, with the user's newest position.
CREATE TABLE user_event_heads (
    user_id  INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    last_seq INTEGER NOT NULL
);
CREATE TABLE user_events (
    user_id INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    seq     INTEGER NOT NULL,
    at      INTEGER NOT NULL,
    data    TEXT    NOT NULL,
    PRIMARY KEY (user_id, seq)
) WITHOUT ROWID;
