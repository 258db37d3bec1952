-- Only replies are in the reply index. Every message paid for an entry in `messages_reply_to`
-- although most messages reply to nothing (a NULL key that no query looks up): one of the four
-- B-trees each send wrote into (with the table, `messages_conversation_seq` and the unique
-- (sender_id, client_id) index; BENCHMARKS.md, `storage_append`). Every query of the index asks
-- for `reply_to = ?` — the reply count of a message, the replies of a thread, and the foreign-key
-- check when a message is removed — which implies `reply_to IS NOT NULL`, so SQLite still uses
-- the partial index for all of them.
DROP INDEX messages_reply_to;
CREATE INDEX messages_reply_to ON messages (reply_to, seq) WHERE reply_to IS NOT NULL;
