-- Agents' memory belongs to people: a thread of conversation_messages to the user who
-- talked (NULL when nobody did: a webhook, a schedule), the memory_read/memory_write facts
-- to the owner of the workflow whose agent remembered them (scope 'owner', scope_id the
-- user's id). Deleting a user deletes both.
ALTER TABLE conversation_messages ADD COLUMN user_id INTEGER REFERENCES users(id) ON DELETE CASCADE;
CREATE INDEX conversation_messages_user ON conversation_messages(user_id);

CREATE TRIGGER users_memory_facts AFTER DELETE ON users BEGIN
        DELETE FROM memory_facts WHERE scope = 'owner' AND scope_id = CAST(OLD.id AS TEXT);
END;
