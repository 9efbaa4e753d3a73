-- name: insert
-- A queued task with a due time (a delay) waits until `promote` makes it due.
INSERT INTO tasks (id, type, payload, priority, max_attempts, run_at, status, attempts,
                   created_at, started_at, idempotency_key, owner, fingerprint, waiting)
VALUES (?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?, ?)
ON CONFLICT (type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;

-- name: max_seq
SELECT coalesce(max(seq), 0) FROM tasks;

-- name: select_by_key
SELECT * FROM tasks WHERE type = ? AND idempotency_key = ?;

-- name: select_by_id
SELECT * FROM tasks WHERE id = ?;

-- name: end_attempt
-- The last parameter says whether the task waits: queued again with a backoff.
UPDATE tasks
SET status = ?, attempts = ?, run_at = ?, result = ?, error = ?, started_at = ?, finished_at = ?,
    owner = NULL, waiting = ?
WHERE seq = ? AND owner = ? AND attempts = ? AND status = 'running';

-- name: promote
-- Waiting tasks now due join the claimable ones: run by every claim, before it picks.
-- By due time: without the hint SQLite would read every waiting task of tasks_queued.
UPDATE tasks INDEXED BY tasks_waiting SET waiting = 0
WHERE status = 'queued' AND waiting = 1 AND run_at <= :now;

-- name: claim
UPDATE tasks SET status = 'running', owner = :owner, attempts = attempts + 1, started_at = :now
WHERE seq IN (
    SELECT seq FROM tasks
    WHERE status = 'queued' AND waiting = 0 AND run_at <= :now
    ORDER BY priority DESC, seq
    LIMIT :limit
)
RETURNING *;

-- name: claim_some
-- A claim limited to one type (:only, unless NULL), skipping the types in :skip (a JSON array).
UPDATE tasks SET status = 'running', owner = :owner, attempts = attempts + 1, started_at = :now
WHERE seq IN (
    SELECT seq FROM tasks
    WHERE status = 'queued' AND waiting = 0 AND run_at <= :now
      AND (:only IS NULL OR type = :only)
      AND type NOT IN (SELECT value FROM json_each(:skip))
    ORDER BY priority DESC, seq
    LIMIT :limit
)
RETURNING *;

-- name: next_due
SELECT min(run_at) FROM tasks WHERE status = 'queued' AND run_at > ?;

-- name: cancel
UPDATE tasks SET status = 'cancelled', finished_at = ? WHERE id = ? AND status = 'queued';

-- name: count_unfinished
-- Two counts, each from its partial index: `status IN (...)` would read the whole table.
SELECT (SELECT count(*) FROM tasks WHERE status = 'queued')
     + (SELECT count(*) FROM tasks WHERE status = 'running');

-- name: take_over
UPDATE tasks SET status = 'queued', owner = NULL
WHERE status = 'running'
  AND (owner IS NULL OR owner NOT IN (SELECT id FROM owners WHERE expires_at >= ?));

-- name: register
INSERT INTO owners (id, host, pid, expires_at, started_at, concurrency)
VALUES (?, ?, ?, ?, ?, ?);

-- name: renew_lease
UPDATE owners SET expires_at = ? WHERE id = ? AND expires_at >= ?;

-- name: count_peers
SELECT count(*) FROM owners WHERE id != ? AND expires_at >= ?;

-- name: drop_owner
DELETE FROM owners WHERE id = ?;

-- name: select_owners_on_host
SELECT id, pid FROM owners WHERE host = ? AND id != ?;

-- name: forget_old_owners
DELETE FROM owners WHERE expires_at < ?;

-- name: purge_finished
DELETE FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ?;

-- name: select_by_ids
SELECT * FROM tasks WHERE id IN (SELECT value FROM json_each(?));

-- name: list_tasks
-- Pages of tasks, newest first. A page holds the ids below `after`, the last id of the page
-- before; the bound is inclusive and `after` left out, so that with no `after` (NULL) the
-- page starts at the newest task. Finished tasks are read from indexes in id order
-- (tasks_finished_by_status or _by_type), stopping at the limit; queued and running ones,
-- at most as many as the queue holds, from the claim's partial indexes, then sorted.
SELECT * FROM tasks
WHERE id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: list_finished_by_status
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND status = :status
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: list_finished_by_type_and_status
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND type = :type AND status = :status
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: list_queued
SELECT * FROM tasks INDEXED BY tasks_queued
WHERE status = 'queued' AND (:type IS NULL OR type = :type)
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: list_running
SELECT * FROM tasks INDEXED BY tasks_running
WHERE status = 'running' AND (:type IS NULL OR type = :type)
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: list_by_type
-- Each finished status in id order, and the queued and running tasks sorted; merged.
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND type = :type AND status = 'done'
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
UNION ALL
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND type = :type AND status = 'failed'
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
UNION ALL
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND type = :type AND status = 'cancelled'
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
UNION ALL
SELECT * FROM tasks INDEXED BY tasks_queued
WHERE status = 'queued' AND type = :type
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
UNION ALL
SELECT * FROM tasks INDEXED BY tasks_running
WHERE status = 'running' AND type = :type
  AND id <= coalesce(:after, (SELECT max(id) FROM tasks)) AND id IS NOT :after
ORDER BY id DESC LIMIT :limit;

-- name: retry
UPDATE tasks
SET status = 'queued', run_at = :now, attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = 0
WHERE id = :id AND status IN ('failed', 'cancelled')
RETURNING *;

-- name: queue_stats
-- From the partial indexes on queued and running tasks. A task stored without a delay has
-- run_at 0: it was due when it was created, and the first of those by seq is the oldest.
SELECT
    (SELECT count(*) FROM tasks WHERE status = 'queued' AND run_at <= :now) AS due,
    (SELECT count(*) FROM tasks WHERE status = 'queued' AND run_at > :now) AS delayed,
    (SELECT count(*) FROM tasks WHERE status = 'running') AS running,
    (SELECT created_at FROM tasks WHERE status = 'queued' AND run_at = 0
     ORDER BY seq LIMIT 1) AS oldest_created,
    (SELECT min(run_at) FROM tasks WHERE status = 'queued' AND run_at > 0 AND run_at <= :now)
        AS oldest_run_at;

-- name: count_tasks
-- Finished tasks from the covering index tasks_finished_by_type; queued and running ones
-- from their partial indexes. No statement reads the table's rows of finished tasks.
SELECT type, status, count(*) AS count FROM tasks
WHERE finished_at IS NOT NULL GROUP BY type, status
UNION ALL
SELECT type, 'queued', count(*) FROM tasks WHERE status = 'queued' GROUP BY type
UNION ALL
SELECT type, 'running', count(*) FROM tasks WHERE status = 'running' GROUP BY type;

-- name: throughput
-- From the covering index tasks_finished (finished_at, status).
SELECT CAST(finished_at / 60 AS INTEGER) * 60 AS minute,
       sum(status = 'done') AS done, sum(status = 'failed') AS failed
FROM tasks WHERE finished_at IS NOT NULL AND finished_at >= :since
GROUP BY minute ORDER BY minute;

-- name: instances
SELECT o.id, o.host, o.pid, o.started_at, o.expires_at - :now AS lease_left, o.concurrency,
       (SELECT count(*) FROM tasks t WHERE t.status = 'running' AND t.owner = o.id) AS running
FROM owners o ORDER BY o.started_at, o.id;

-- name: count_failed
-- Failed tasks whose id is in [low, high): the range of an id prefix.
SELECT count(*) AS count, max(id) AS newest FROM tasks
WHERE finished_at IS NOT NULL AND status = 'failed' AND id >= :low AND id < :high;

-- name: count_failed_of_type
SELECT count(*) AS count, max(id) AS newest FROM tasks
WHERE finished_at IS NOT NULL AND type = :type AND status = 'failed'
  AND id >= :low AND id < :high;

-- name: retry_failed
UPDATE tasks
SET status = 'queued', run_at = :now, attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = 0
WHERE finished_at IS NOT NULL AND status = 'failed' AND id >= :low AND id < :high
  AND id <= :upto;

-- name: retry_failed_of_type
UPDATE tasks
SET status = 'queued', run_at = :now, attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = 0
WHERE finished_at IS NOT NULL AND type = :type AND status = 'failed'
  AND id >= :low AND id < :high AND id <= :upto;
-- name: last_tick
SELECT due_at, task_id FROM schedule_ticks WHERE schedule = ? ORDER BY due_at DESC LIMIT 1;

-- name: insert_tick
INSERT INTO schedule_ticks (schedule, due_at, task_id) VALUES (?, ?, ?) ON CONFLICT DO NOTHING;

-- name: forget_old_ticks
-- Old ticks, but never a schedule's latest: the next tick is counted from it.
DELETE FROM schedule_ticks
WHERE due_at < ?
  AND due_at < (SELECT max(t.due_at) FROM schedule_ticks t
                WHERE t.schedule = schedule_ticks.schedule);
