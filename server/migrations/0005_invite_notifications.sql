-- Notifications about being added to a team carry the team (removed with it).
ALTER TABLE notifications ADD COLUMN team_id INTEGER REFERENCES teams (id) ON DELETE CASCADE;
