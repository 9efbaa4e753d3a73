-- name: insert
INSERT INTO tasks (id, type, payload, priority, max_attempts, run_at, status, created_at,
                   idempotency_key, owner, fingerprint)
VALUES (?, ?, ?, ?, ?, ?, 'queued', ?, ?, ?, ?)
ON CONFLICT (type, idempotency_key) WHERE idempotency_key IS NOT NULL DO NOTHING;

-- name: max_seq
SELECT coalesce(max(seq), 0) FROM tasks;

-- name: select_by_key
SELECT * FROM tasks WHERE type = ? AND idempotency_key = ?;

-- name: select_by_id
SELECT * FROM tasks WHERE id = ?;

-- name: update
UPDATE tasks
SET status = ?, attempts = ?, run_at = ?, result = ?, error = ?, started_at = ?, finished_at = ?
WHERE seq = ?;

-- name: release
UPDATE tasks SET status = 'queued', owner = NULL
WHERE owner = ? AND status IN ('queued', 'running');

-- name: claim
UPDATE tasks SET owner = :owner, status = 'queued'
WHERE seq IN (
    SELECT seq FROM tasks
    WHERE status IN ('queued', 'running')
      AND (owner IS NULL OR owner NOT IN (SELECT id FROM owners WHERE expires_at >= :now))
    ORDER BY priority DESC, seq
    LIMIT :limit
)
RETURNING *;

-- name: renew_lease
INSERT INTO owners (id, host, pid, expires_at) VALUES (?, ?, ?, ?)
ON CONFLICT (id) DO UPDATE SET expires_at = excluded.expires_at;

-- name: drop_owner
DELETE FROM owners WHERE id = ?;

-- name: select_owners_on_host
SELECT id, pid FROM owners WHERE host = ? AND id != ?;

-- name: forget_old_owners
DELETE FROM owners WHERE expires_at < ?;

-- name: purge_finished
DELETE FROM tasks WHERE finished_at IS NOT NULL AND finished_at < ?;
