-- Version 4: what the dashboard shows. Each process records how many tasks it runs at
-- once; finished tasks are indexed by finish time with their status, so that the
-- throughput of the last hour is read from the index alone.
ALTER TABLE owners ADD COLUMN concurrency integer NOT NULL DEFAULT 0;
DROP INDEX tasks_finished_at;
CREATE INDEX tasks_finished_at ON tasks (finished_at, status) WHERE finished_at IS NOT NULL;
