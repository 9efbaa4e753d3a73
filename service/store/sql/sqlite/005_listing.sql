-- Version 5: listing tasks newest first, by status and by type, a page at a time.
-- Finished tasks are indexed once, when they finish; unfinished ones by id alone, which a
-- claim or an end of attempt leaves as it is (indexes on status would move the task at each).
CREATE INDEX tasks_finished_by_status ON tasks (status, id) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_finished_by_type ON tasks (type, status, id) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_unfinished_by_id ON tasks (id) WHERE finished_at IS NULL;
