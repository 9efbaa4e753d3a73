-- Version 7: what the dashboard shows. Each process records when it started and how many
-- tasks it runs at once. The indexes of finished tasks carry finished_at, the column of
-- their condition: only then does SQLite count from the index alone (a covering index)
-- instead of reading a row per finished task. Finished tasks are also indexed by finish
-- time with their status, for the throughput of the last hour.
ALTER TABLE owners ADD COLUMN started_at REAL NOT NULL DEFAULT 0;
ALTER TABLE owners ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 0;
DROP INDEX tasks_finished;
CREATE INDEX tasks_finished ON tasks (finished_at, status) WHERE finished_at IS NOT NULL;
DROP INDEX tasks_finished_by_status;
CREATE INDEX tasks_finished_by_status ON tasks (status, id, finished_at)
    WHERE finished_at IS NOT NULL;
DROP INDEX tasks_finished_by_type;
CREATE INDEX tasks_finished_by_type ON tasks (type, status, id, finished_at)
    WHERE finished_at IS NOT NULL;
