-- Accounts a team can live with (issue 16): an email address per account, verified by a code;
-- password resets; sessions that say which device they are and when it was last active.

-- The verified address only, lowercased; one account per address.
ALTER TABLE users ADD COLUMN email TEXT;
CREATE UNIQUE INDEX users_email ON users (email) WHERE email IS NOT NULL;

-- The address a user asked to switch to and the code mailed to it (SHA-256 of the 6 digits,
-- salted with the user id and address so equal codes do not hash alike). One per user: asking
-- again replaces it. `attempts` counts wrong codes; past the limit the code is dead. A verified
-- row stays, `used_at` set, so presenting its code again is told apart from a wrong code.
CREATE TABLE email_verifications (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    email      TEXT    NOT NULL,
    code_hash  BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
);

-- Password-reset tokens: a random selector to find the row and the SHA-256 of a random verifier,
-- compared in constant time. Single use (`used_at`); confirming one uses up all of the account's.
CREATE TABLE password_resets (
    selector      TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verifier_hash BLOB    NOT NULL,
    created_at    INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    used_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX password_resets_user ON password_resets (user_id);

-- What the session list shows: the client's User-Agent at sign-in, the address it signed in or
-- last refreshed from, and when that was. Older sessions read as active when created.
ALTER TABLE sessions ADD COLUMN client TEXT;
ALTER TABLE sessions ADD COLUMN addr TEXT;
ALTER TABLE sessions ADD COLUMN last_active_at INTEGER;
