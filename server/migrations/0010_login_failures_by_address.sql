-- Failed logins are throttled per (account, source address), so a stranger's guesses slow only
-- the stranger; the per-account count across all addresses remains as a backstop.
-- Existing rows predate addresses: they count for the backstop only.
ALTER TABLE login_failures ADD COLUMN addr TEXT NOT NULL DEFAULT '';
CREATE INDEX login_failures_username_addr_at ON login_failures (username, addr, at);
