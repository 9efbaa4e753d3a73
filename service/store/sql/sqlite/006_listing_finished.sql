-- Version 6: pages of tasks without the cost of version 5's indexes to every claim and every
-- end of attempt (each moved the task between statuses in both). Finished tasks are indexed
-- once, when they finish; unfinished ones by id alone, which a claim leaves as it is.
DROP INDEX tasks_status_id;
DROP INDEX tasks_type_status_id;
CREATE INDEX tasks_finished_by_status ON tasks (status, id) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_finished_by_type ON tasks (type, status, id) WHERE finished_at IS NOT NULL;
CREATE INDEX tasks_unfinished_by_id ON tasks (id) WHERE finished_at IS NULL;
