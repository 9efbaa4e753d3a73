-- Version 3: idempotency keys are unique per task type; a request's fingerprint is kept.
DROP INDEX tasks_idempotency_key;
CREATE UNIQUE INDEX tasks_type_idempotency_key ON tasks (type, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
ALTER TABLE tasks ADD COLUMN fingerprint TEXT;
