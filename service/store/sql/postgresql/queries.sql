-- Times in and out are seconds since the epoch; due times and leases are the server's now().

-- name: insert
-- New tasks as arrays. A delayed task is due its delay (run_at - created_at, on the
-- caller's clock) after now(), and waits until `promote` makes it due; a running one is
-- owned by the claim's owner.
INSERT INTO tasks (id, type, payload, priority, max_attempts, run_at, status, attempts,
                   created_at, started_at, idempotency_key, fingerprint, owner, waiting)
SELECT n.id, n.type, n.payload, n.priority, n.max_attempts,
       now() + make_interval(secs => greatest(n.run_at - n.created_at, 0)),
       n.status, n.attempts, to_timestamp(n.created_at), to_timestamp(n.started_at),
       n.idempotency_key, n.fingerprint, n.owner,
       n.status = 'queued' AND n.run_at > n.created_at
FROM unnest($1::text[], $2::text[], $3::text[], $4::int[], $5::int[], $6::float8[],
            $7::text[], $8::int[], $9::float8[], $10::float8[], $11::text[], $12::text[],
            $13::text[])
     AS n(id, type, payload, priority, max_attempts, run_at, status, attempts, created_at,
          started_at, idempotency_key, fingerprint, owner)
ON CONFLICT (type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING
RETURNING id, seq, status = 'queued' AND run_at <= now() AS due;

-- name: select_by_keys
SELECT t.* FROM tasks t
JOIN unnest($1::text[], $2::text[]) AS k(type, idempotency_key)
  ON t.type = k.type AND t.idempotency_key = k.idempotency_key;

-- name: renew_live_owners
-- New tasks are stored running only under a live lease, which this renews as a claim does.
UPDATE owners SET expires_at = now() + make_interval(secs => $2)
WHERE id = ANY($1::text[]) AND expires_at > now()
RETURNING id;

-- name: update
-- Recorded states as arrays, each fenced on its claim; every one ends the attempt. A task
-- queued again with a delay (a retry's backoff) waits.
UPDATE tasks t
SET status = s.status, attempts = s.attempts,
    run_at = CASE WHEN s.status = 'queued'
                  THEN now() + make_interval(secs => greatest(s.delay, 0)) ELSE t.run_at END,
    waiting = s.status = 'queued' AND s.delay > 0,
    result = s.result, error = s.error,
    started_at = to_timestamp(s.started_at), finished_at = to_timestamp(s.finished_at),
    owner = NULL
FROM unnest($1::text[], $2::text[], $3::int[], $4::float8[], $5::text[], $6::text[],
            $7::float8[], $8::float8[], $9::text[], $10::int[])
     AS s(id, status, attempts, delay, result, error, started_at, finished_at, fence_owner,
          fence_attempt)
WHERE t.id = s.id AND t.owner = s.fence_owner AND t.attempts = s.fence_attempt
  AND t.status = 'running'
RETURNING t.id, t.status = 'queued' AND t.run_at <= now() AS due;

-- name: promote
-- Waiting tasks now due join the claimable ones: run by every claim, before it picks (a
-- statement of its own, so that the pick sees them). Rows another process is making due
-- are skipped, not waited for. The array keeps the update on the primary key: `seq IN
-- (subquery)` may be planned as a hash join over the whole table.
UPDATE tasks SET waiting = false
WHERE seq = ANY(ARRAY(
    SELECT seq FROM tasks WHERE status = 'queued' AND waiting AND run_at <= now()
    FOR UPDATE SKIP LOCKED
));

-- name: claim
WITH lease AS (
    UPDATE owners SET expires_at = now() + make_interval(secs => $2)
    WHERE id = $1 AND expires_at > now()
    RETURNING id
), picked AS (
    SELECT seq FROM tasks
    WHERE status = 'queued' AND NOT waiting AND run_at <= now() AND EXISTS (SELECT FROM lease)
    ORDER BY priority DESC, seq
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'running', owner = $1, attempts = t.attempts + 1, started_at = now()
FROM picked WHERE t.seq = picked.seq
RETURNING t.*;

-- name: claim_some
-- A claim limited to one type ($4, unless NULL), skipping the types in $5.
WITH lease AS (
    UPDATE owners SET expires_at = now() + make_interval(secs => $2)
    WHERE id = $1 AND expires_at > now()
    RETURNING id
), picked AS (
    SELECT seq FROM tasks
    WHERE status = 'queued' AND NOT waiting AND run_at <= now() AND EXISTS (SELECT FROM lease)
      AND ($4::text IS NULL OR type = $4::text) AND type <> ALL($5::text[])
    ORDER BY priority DESC, seq
    LIMIT $3
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks t
SET status = 'running', owner = $1, attempts = t.attempts + 1, started_at = now()
FROM picked WHERE t.seq = picked.seq
RETURNING t.*;

-- name: next_due
SELECT extract(epoch FROM run_at - now())::float8 FROM tasks
WHERE status = 'queued' AND run_at > now()
ORDER BY run_at
LIMIT 1;

-- name: cancel
UPDATE tasks SET status = 'cancelled', finished_at = now()
WHERE id = $1 AND status = 'queued'
RETURNING *;

-- name: select_by_id
SELECT * FROM tasks WHERE id = $1;

-- name: select_by_key
SELECT * FROM tasks WHERE type = $1 AND idempotency_key = $2;

-- name: count_unfinished
-- Two counts, each from its partial index: `status IN (...)` would read the whole table.
SELECT (SELECT count(*) FROM tasks WHERE status = 'queued')
     + (SELECT count(*) FROM tasks WHERE status = 'running');

-- name: take_over
WITH orphans AS (
    SELECT seq FROM tasks t
    WHERE status = 'running'
      AND NOT EXISTS (SELECT FROM owners o WHERE o.id = t.owner AND o.expires_at > now())
    FOR UPDATE SKIP LOCKED
)
UPDATE tasks t SET status = 'queued', owner = NULL
FROM orphans WHERE t.seq = orphans.seq
RETURNING t.id;

-- name: add_owner
INSERT INTO owners (id, host, pid, expires_at, concurrency)
VALUES ($1, $2, $3, now() + make_interval(secs => $4), $5);

-- name: renew_lease
UPDATE owners SET expires_at = now() + make_interval(secs => $2)
WHERE id = $1 AND expires_at > now()
RETURNING id;

-- name: count_peers
SELECT count(*) FROM owners WHERE id <> $1 AND expires_at > now();

-- name: drop_owner
DELETE FROM owners WHERE id = $1;

-- name: forget_old_owners
DELETE FROM owners o
WHERE expires_at < now() - make_interval(secs => $1)
  AND NOT EXISTS (SELECT FROM tasks t WHERE t.status = 'running' AND t.owner = o.id);

-- name: purge_finished
DELETE FROM tasks WHERE seq IN (
    SELECT seq FROM tasks
    WHERE finished_at < now() - make_interval(secs => $1)
      AND status IN ('done', 'failed', 'cancelled')
    LIMIT $2
);

-- name: notify
SELECT pg_notify($1, '');

-- name: select_by_ids
SELECT * FROM tasks WHERE id = ANY($1::text[]);

-- name: list_tasks
-- Pages of tasks, newest first: $1 the limit, $2 `after`, the last id of the page before.
-- The bound is inclusive and `after` left out, so that with no `after` (NULL) the page
-- starts at the newest task. Each query reads indexes in order and stops at the limit:
-- finished tasks by tasks_finished_by_status or _by_type; unfinished ones, at most as many
-- as the queue holds, by tasks_unfinished_by_id.
-- A status is bounded by a range, not `=`: then only the indexes on (status, id) give this
-- order. With `=`, a generic plan may walk tasks_id_key and filter, and read the whole
-- table when few tasks match.
SELECT * FROM tasks
WHERE id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
ORDER BY id DESC LIMIT $1;

-- name: list_finished_by_status
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND status >= $3 AND status <= $3
  AND id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
ORDER BY status DESC, id DESC LIMIT $1;

-- name: list_finished_by_type_and_status
SELECT * FROM tasks
WHERE finished_at IS NOT NULL AND type = $4 AND status >= $3 AND status <= $3
  AND id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
ORDER BY status DESC, id DESC LIMIT $1;

-- name: list_unfinished
SELECT * FROM tasks
WHERE finished_at IS NULL AND status = $3 AND ($4::text IS NULL OR type = $4)
  AND id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
ORDER BY id DESC LIMIT $1;

-- name: list_by_type
-- A page of each finished status, and one of the unfinished tasks; merged.
SELECT t.* FROM unnest(ARRAY['done', 'failed', 'cancelled']) AS s(status)
CROSS JOIN LATERAL (
    SELECT * FROM tasks
    WHERE finished_at IS NOT NULL AND type = $3 AND status >= s.status AND status <= s.status
      AND id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
    ORDER BY status DESC, id DESC LIMIT $1
) AS t
UNION ALL (
    SELECT * FROM tasks
    WHERE finished_at IS NULL AND type = $3
      AND id <= coalesce($2::text, (SELECT max(id) FROM tasks)) AND id IS DISTINCT FROM $2
    ORDER BY id DESC LIMIT $1
)
ORDER BY id DESC LIMIT $1;

-- name: retry
UPDATE tasks
SET status = 'queued', run_at = now(), attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = false
WHERE id = $1 AND status IN ('failed', 'cancelled')
RETURNING *;

-- name: queue_stats
-- From the partial indexes on queued and running tasks.
SELECT
    (SELECT count(*) FROM tasks WHERE status = 'queued' AND run_at <= now()) AS due,
    (SELECT count(*) FROM tasks WHERE status = 'queued' AND run_at > now()) AS delayed,
    (SELECT count(*) FROM tasks WHERE status = 'running') AS running,
    coalesce(extract(epoch FROM now() - (
        SELECT min(run_at) FROM tasks WHERE status = 'queued' AND run_at <= now()
    )), 0)::float8 AS oldest_due_age;

-- name: count_tasks
-- Finished tasks from the index tasks_finished_by_type (an index-only scan once vacuum has
-- run); queued and running ones from their partial indexes.
SELECT type, status, count(*) AS count FROM tasks
WHERE finished_at IS NOT NULL GROUP BY type, status
UNION ALL
SELECT type, 'queued', count(*) FROM tasks WHERE status = 'queued' GROUP BY type
UNION ALL
SELECT type, 'running', count(*) FROM tasks WHERE status = 'running' GROUP BY type;

-- name: throughput
-- $1 minutes back from now(), from the index tasks_finished_at (finished_at, status).
SELECT (floor(extract(epoch FROM finished_at) / 60) * 60)::float8 AS minute,
       count(*) FILTER (WHERE status = 'done') AS done,
       count(*) FILTER (WHERE status = 'failed') AS failed
FROM tasks
WHERE finished_at IS NOT NULL AND finished_at >= now() - make_interval(mins => $1)
GROUP BY 1 ORDER BY 1;

-- name: instances
SELECT o.id, o.host, o.pid, extract(epoch FROM o.started_at)::float8 AS started_at,
       extract(epoch FROM o.expires_at - now())::float8 AS lease_left, o.concurrency,
       (SELECT count(*) FROM tasks t WHERE t.status = 'running' AND t.owner = o.id) AS running
FROM owners o ORDER BY o.started_at, o.id;

-- name: count_failed
-- Failed tasks whose id is in [$1, $2): the range of an id prefix.
SELECT count(*) AS count, max(id) AS newest FROM tasks
WHERE finished_at IS NOT NULL AND status = 'failed' AND id >= $1 AND id < $2;

-- name: count_failed_of_type
SELECT count(*) AS count, max(id) AS newest FROM tasks
WHERE finished_at IS NOT NULL AND type = $3 AND status = 'failed' AND id >= $1 AND id < $2;

-- name: retry_failed
-- Up to the id $3; fenced on the status.
UPDATE tasks
SET status = 'queued', run_at = now(), attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = false
WHERE finished_at IS NOT NULL AND status = 'failed' AND id >= $1 AND id < $2 AND id <= $3;

-- name: retry_failed_of_type
UPDATE tasks
SET status = 'queued', run_at = now(), attempts = 0, result = NULL, error = NULL,
    started_at = NULL, finished_at = NULL, owner = NULL, waiting = false
WHERE finished_at IS NOT NULL AND type = $4 AND status = 'failed'
  AND id >= $1 AND id < $2 AND id <= $3;
-- name: now
SELECT extract(epoch FROM now())::float8;

-- name: last_ticks
SELECT n.schedule, extract(epoch FROM t.due_at)::float8 AS due, t.task_id
FROM unnest($1::text[]) AS n(schedule)
CROSS JOIN LATERAL (
    SELECT due_at, task_id FROM schedule_ticks s
    WHERE s.schedule = n.schedule
    ORDER BY due_at DESC
    LIMIT 1
) t;

-- name: insert_ticks
-- Due times are the callers' (computed from now() of last_ticks), to the microsecond.
INSERT INTO schedule_ticks (schedule, due_at, task_id)
SELECT n.schedule, to_timestamp(n.due), n.task_id
FROM unnest($1::text[], $2::float8[], $3::text[]) AS n(schedule, due, task_id)
ON CONFLICT DO NOTHING
RETURNING task_id;

-- name: forget_old_ticks
-- Old ticks, but never a schedule's latest: the next tick is counted from it.
DELETE FROM schedule_ticks s
WHERE s.due_at < now() - make_interval(secs => $1)
  AND EXISTS (SELECT FROM schedule_ticks t WHERE t.schedule = s.schedule AND t.due_at > s.due_at);
