-- Teams: members with roles, invitations, and the channels (conversations of kind 'channel') that
-- belong to a team. Released migrations are never edited; add a new numbered file instead.

CREATE TABLE teams (
    id         INTEGER PRIMARY KEY,
    name       TEXT    NOT NULL,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL                         -- Unix ms
);

CREATE TABLE team_members (
    team_id   INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    user_id   INTEGER NOT NULL REFERENCES users (id) ON DELETE CASCADE,
    role      TEXT    NOT NULL CHECK (role IN ('owner', 'admin', 'member')),
    joined_at INTEGER NOT NULL,
    PRIMARY KEY (team_id, user_id)
) WITHOUT ROWID;
CREATE INDEX team_members_user ON team_members (user_id);

CREATE TABLE team_invites (
    id         INTEGER PRIMARY KEY,
    team_id    INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    code       TEXT    NOT NULL UNIQUE,
    created_by INTEGER NOT NULL REFERENCES users (id),
    created_at INTEGER NOT NULL,
    expires_at INTEGER,                                 -- NULL: never
    max_uses   INTEGER,                                 -- NULL: unlimited
    uses       INTEGER NOT NULL DEFAULT 0,
    revoked_at INTEGER
);
CREATE INDEX team_invites_team ON team_invites (team_id);

-- What makes a conversation a channel of a team.
CREATE TABLE channels (
    conversation_id INTEGER PRIMARY KEY REFERENCES conversations (id) ON DELETE CASCADE,
    team_id         INTEGER NOT NULL REFERENCES teams (id) ON DELETE CASCADE,
    private         INTEGER NOT NULL DEFAULT 0,
    is_default      INTEGER NOT NULL DEFAULT 0,
    topic           TEXT,
    archived_at     INTEGER
);
CREATE INDEX channels_team ON channels (team_id);
