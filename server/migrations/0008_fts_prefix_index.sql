-- Prefix queries (`ka*`) get their own index. Without one, FTS5 answers `ka*` by expanding it to
-- every indexed term that starts with `ka` and merging all their position lists before it can
-- return the newest page: 151 ms p99 at 1,000,000 messages (BENCHMARKS.md, `history`). With
-- `prefix = '2 3'` FTS5 also indexes every term's first two and first three characters, so a 2- or
-- 3-character prefix is one term lookup and a longer one expands to far fewer terms. The price is a
-- larger index and a little more work per indexed message.
--
-- FTS5 cannot change the options of an existing table, so the table is dropped and rebuilt with the
-- same contract as before: external content (`messages`), rowid = `messages.id`, the same
-- tokenizer, and only messages that are not deleted are indexed. New messages are still indexed by
-- the send path once per batch (migration 0007 dropped the insert trigger; it stays dropped); the
-- edit and delete triggers are recreated unchanged from 0004.
DROP TRIGGER messages_fts_update;
DROP TRIGGER messages_fts_delete;
DROP TABLE messages_fts;

CREATE VIRTUAL TABLE messages_fts USING fts5 (
    body,
    content = 'messages',
    content_rowid = 'id',
    tokenize = 'unicode61 remove_diacritics 2',
    prefix = '2 3'
);
INSERT INTO messages_fts (rowid, body) SELECT id, body FROM messages WHERE deleted_at IS NULL;

CREATE TRIGGER messages_fts_update AFTER UPDATE OF body, deleted_at ON messages BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body)
        SELECT 'delete', old.id, old.body WHERE old.deleted_at IS NULL;
    INSERT INTO messages_fts (rowid, body)
        SELECT new.id, new.body WHERE new.deleted_at IS NULL;
END;
CREATE TRIGGER messages_fts_delete AFTER DELETE ON messages WHEN old.deleted_at IS NULL BEGIN
    INSERT INTO messages_fts (messages_fts, rowid, body) VALUES ('delete', old.id, old.body);
END;
