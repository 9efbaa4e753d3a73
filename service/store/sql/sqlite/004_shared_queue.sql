-- Version 4: a queued task belongs to nobody; a claim makes it running, owned, counted.
UPDATE tasks SET owner = NULL WHERE status = 'queued';
DROP INDEX tasks_unfinished;
CREATE INDEX tasks_queued ON tasks (priority DESC, seq) WHERE status = 'queued';
CREATE INDEX tasks_queued_due ON tasks (run_at) WHERE status = 'queued';
CREATE INDEX tasks_running ON tasks (owner) WHERE status = 'running';
