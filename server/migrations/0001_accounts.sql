-- Accounts, sessions (refresh-token families) and failed-login bookkeeping.
-- Released migrations are never edited; add a new numbered file instead.

CREATE TABLE users (
    id            INTEGER PRIMARY KEY,
    username      TEXT    NOT NULL UNIQUE,   -- lowercase
    password_hash TEXT    NOT NULL,          -- argon2id PHC string
    display_name  TEXT,
    bio           TEXT,
    status_text   TEXT,
    is_admin      INTEGER NOT NULL DEFAULT 0,
    created_at    INTEGER NOT NULL           -- Unix ms
);
CREATE INDEX users_display_name ON users (display_name COLLATE NOCASE);

CREATE TABLE sessions (
    id         INTEGER PRIMARY KEY,
    user_id    INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    created_at INTEGER NOT NULL,
    revoked_at INTEGER
);
CREATE INDEX sessions_user ON sessions (user_id);

CREATE TABLE refresh_tokens (
    token_hash BLOB    PRIMARY KEY,          -- SHA-256 of the token
    session_id INTEGER NOT NULL REFERENCES sessions (id) ON DELETE CASCADE,
    expires_at INTEGER NOT NULL,
    used_at    INTEGER                       -- set when rotated; presenting it again is theft
) WITHOUT ROWID;
CREATE INDEX refresh_tokens_session ON refresh_tokens (session_id);

CREATE TABLE login_failures (
    username TEXT    NOT NULL,
    at       INTEGER NOT NULL
);
CREATE INDEX login_failures_username_at ON login_failures (username, at);
