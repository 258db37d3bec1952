-- Server administration (issue 16): an admin may deactivate an account. A deactivated account
-- cannot sign in and its sessions are ended, but the row stays so its messages keep their author
-- (shown as deactivated). NULL: active; else when it was deactivated (Unix ms).
ALTER TABLE users ADD COLUMN deactivated_at INTEGER;

-- The last-admin check counts active admins on every grant, revoke and deactivation.
CREATE INDEX users_active_admins ON users (id) WHERE is_admin AND deactivated_at IS NULL;
