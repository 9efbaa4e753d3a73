-- Version 5: a queued task whose due time was ahead when it was written waits apart. The
-- claim picks from tasks_due, which holds only tasks that do not wait, so it no longer
-- reads and skips every delayed task ahead of the due ones; each claim first makes due the
-- waiting tasks whose time has come, found by tasks_waiting. A task stored without a delay
-- never waits.
ALTER TABLE tasks ADD COLUMN waiting boolean NOT NULL DEFAULT false;
UPDATE tasks SET waiting = true WHERE status = 'queued' AND run_at > now();
DROP INDEX tasks_due;
CREATE INDEX tasks_due ON tasks (priority DESC, seq) WHERE status = 'queued' AND NOT waiting;
CREATE INDEX tasks_waiting ON tasks (run_at) WHERE status = 'queued' AND waiting;
