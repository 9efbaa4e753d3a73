-- Version 9: a queued task whose due time was ahead when it was written waits apart. The
-- claim reads only tasks_queued's entries with waiting = 0, in priority order, so it no
-- longer reads and skips every delayed task ahead of the due ones; each claim first makes
-- due the waiting tasks whose time has come, found by tasks_waiting. A task stored without
-- a delay (run_at 0) never waits, and is in no index more than before.
ALTER TABLE tasks ADD COLUMN waiting INTEGER NOT NULL DEFAULT 0;
UPDATE tasks SET waiting = 1 WHERE status = 'queued' AND run_at > 0;
DROP INDEX tasks_queued;
CREATE INDEX tasks_queued ON tasks (waiting, priority DESC, seq) WHERE status = 'queued';
CREATE INDEX tasks_waiting ON tasks (run_at) WHERE status = 'queued' AND waiting = 1;
