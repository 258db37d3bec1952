-- A thread reply may stay in its thread (issue 13, "threads that reduce noise"): the sender
-- decides per reply, and channel history leaves such replies out while the thread and its root's
-- reply count keep them. Existing messages were all shown in the channel, hence the default.
ALTER TABLE messages ADD COLUMN thread_only INTEGER NOT NULL DEFAULT 0;
