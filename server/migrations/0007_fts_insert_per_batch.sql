-- New messages are indexed for search by the send path itself, once per stored batch, instead of by
-- a trigger per row. Why: once FTS5 has been written in a transaction, every later statement that
-- opens a statement journal (any insert with a trigger or a foreign key) makes FTS5 flush its
-- pending index to disk — with the trigger, that was a new index segment (and merges) per message,
-- which cost more than storing the message itself. Indexing the batch's rows in one statement at
-- the end of the transaction writes one segment per batch. The index stays exact: the rows are
-- indexed in the same transaction that stores them. Edits and deletes keep their triggers.
DROP TRIGGER messages_fts_insert;
