-- Version 6: the ticks of schedules. A tick is stored with the task it makes, in one
-- transaction; the primary key lets one process store it and every other one skip it.
CREATE TABLE schedule_ticks (
    schedule TEXT NOT NULL,
    due_at   REAL NOT NULL,
    task_id  TEXT NOT NULL,
    PRIMARY KEY (schedule, due_at)
) WITHOUT ROWID;
CREATE INDEX schedule_ticks_due_at ON schedule_ticks (due_at);
