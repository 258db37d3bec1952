-- A notification's quote of its message is no longer kept current by a trigger: the rule (the
-- first 140 characters of the message as it is now, empty once deleted) is the services'
-- (`services::rules::notifying::preview`), and the backend rewrites the quotes in the transaction
-- that edits or deletes the message, as every backend must. 0015 is another change's.
DROP TRIGGER IF EXISTS notifications_follow_message;
