-- Version 3: the ticks of schedules. A tick is stored with the task it makes, in one
-- transaction; the primary key lets one instance store it and every other one skip it.
CREATE TABLE schedule_ticks (
    schedule text NOT NULL,
    due_at   timestamptz NOT NULL,
    task_id  text NOT NULL,
    PRIMARY KEY (schedule, due_at)
);
CREATE INDEX schedule_ticks_due_at ON schedule_ticks (due_at);
