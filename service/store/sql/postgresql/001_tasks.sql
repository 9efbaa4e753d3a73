-- Version 1: the tasks, and the processes that hold them under a lease.
CREATE TABLE tasks (
    seq             bigint GENERATED ALWAYS AS IDENTITY PRIMARY KEY,
    id              text NOT NULL UNIQUE,
    type            text NOT NULL,
    payload         text NOT NULL,
    priority        integer NOT NULL DEFAULT 0,
    max_attempts    integer NOT NULL DEFAULT 1,
    run_at          timestamptz NOT NULL,
    status          text NOT NULL DEFAULT 'queued'
                    CHECK (status IN ('queued', 'running', 'done', 'failed', 'cancelled')),
    attempts        integer NOT NULL DEFAULT 0,
    result          text,
    error           text,
    created_at      timestamptz NOT NULL,
    started_at      timestamptz,
    finished_at     timestamptz,
    idempotency_key text,
    fingerprint     text,
    owner           text
) WITH (
    -- Every task is updated twice or more, then deleted: room on each page for the new
    -- row versions keeps the updates HOT, and vacuum runs early and at full speed.
    fillfactor = 80,
    autovacuum_vacuum_scale_factor = 0.01,
    autovacuum_vacuum_threshold = 1000,
    autovacuum_vacuum_insert_scale_factor = 0.01,
    autovacuum_analyze_scale_factor = 0.02,
    autovacuum_vacuum_cost_delay = 0
);

CREATE UNIQUE INDEX tasks_type_idempotency_key ON tasks (type, idempotency_key)
    WHERE idempotency_key IS NOT NULL;
CREATE INDEX tasks_due ON tasks (priority DESC, seq) WHERE status = 'queued';
CREATE INDEX tasks_queued_run_at ON tasks (run_at) WHERE status = 'queued';
CREATE INDEX tasks_running_owner ON tasks (owner) WHERE status = 'running';
CREATE INDEX tasks_finished_at ON tasks (finished_at) WHERE finished_at IS NOT NULL;

CREATE TABLE owners (
    id         text PRIMARY KEY,
    host       text NOT NULL,
    pid        integer NOT NULL,
    started_at timestamptz NOT NULL DEFAULT now(),
    expires_at timestamptz NOT NULL
) WITH (fillfactor = 50, autovacuum_vacuum_scale_factor = 0, autovacuum_vacuum_threshold = 100);
