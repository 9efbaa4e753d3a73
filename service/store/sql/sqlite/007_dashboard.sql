-- Version 7: what the dashboard shows. Each process records when it started and how many
-- tasks it runs at once; finished tasks are indexed by finish time with their status, so
-- that the throughput of the last hour is read from the index alone.
ALTER TABLE owners ADD COLUMN started_at REAL NOT NULL DEFAULT 0;
ALTER TABLE owners ADD COLUMN concurrency INTEGER NOT NULL DEFAULT 0;
DROP INDEX tasks_finished;
CREATE INDEX tasks_finished ON tasks (finished_at, status) WHERE finished_at IS NOT NULL;
