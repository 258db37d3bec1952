-- Sign-in codes and two-factor authentication (issue 16 items 3 and 4).

-- A 6-digit sign-in code mailed to the account's verified address: SHA-256 of the digits bound
-- to the user, compared in constant time. One per user: asking again replaces it. `attempts`
-- counts wrong codes; past the limit the code is dead. `used_at` tells a reused code apart.
CREATE TABLE login_codes (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    code_hash  BLOB    NOT NULL,
    expires_at INTEGER NOT NULL,
    attempts   INTEGER NOT NULL DEFAULT 0,
    used_at    INTEGER
);

-- A TOTP secret (RFC 6238). It cannot be hashed — the server must compute codes from it — so it
-- is sealed (XChaCha20-Poly1305, key derived from the server's secret key file, the user id as
-- associated data). `enabled_at` NULL: an enrolment waiting for its first code. `last_step` is
-- the time step of the latest accepted code: a code is accepted only for a later step, so none
-- works twice.
CREATE TABLE two_factor (
    user_id    INTEGER PRIMARY KEY REFERENCES users (id) ON DELETE CASCADE,
    secret     BLOB    NOT NULL,
    created_at INTEGER NOT NULL,
    enabled_at INTEGER,
    last_step  INTEGER
);

-- One-time recovery codes: SHA-256 bound to the user; single use (`used_at`). Regenerating
-- replaces them all.
CREATE TABLE recovery_codes (
    id        INTEGER PRIMARY KEY,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    code_hash BLOB    NOT NULL,
    used_at   INTEGER
);
CREATE INDEX recovery_codes_user ON recovery_codes (user_id);

-- The second step of a sign-in: after the password (or a mailed code) the client holds a
-- challenge token (selector + verifier, SHA-256 of the verifier stored) that a TOTP or recovery
-- code turns into a session. `setup`: the account must enrol first (the server requires two-factor
-- and the account has none); the code then proves the pending secret. Single use, short-lived,
-- a few wrong codes.
CREATE TABLE sign_in_challenges (
    selector      TEXT    PRIMARY KEY,
    user_id       INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    verifier_hash BLOB    NOT NULL,
    setup         INTEGER NOT NULL,
    expires_at    INTEGER NOT NULL,
    attempts      INTEGER NOT NULL DEFAULT 0,
    used_at       INTEGER
) WITHOUT ROWID;
CREATE INDEX sign_in_challenges_user ON sign_in_challenges (user_id);

-- Server-wide settings an admin changes at run time (`/admin/settings`). One row per key.
CREATE TABLE server_settings (
    key   TEXT PRIMARY KEY,
    value TEXT NOT NULL
) WITHOUT ROWID;
