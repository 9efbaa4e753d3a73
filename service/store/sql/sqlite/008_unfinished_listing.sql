-- Version 8: queued and running tasks are listed from the indexes the claim and the
-- take-over keep anyway (tasks_queued, tasks_running), read whole and sorted by id: at most
-- as many rows as the queue holds. One index fewer to write at each insert and at each end
-- of a task.
DROP INDEX tasks_unfinished_by_id;
