-- Version 5: listing tasks newest first, by status and by type, a page at a time.
CREATE INDEX tasks_status_id ON tasks (status, id);
CREATE INDEX tasks_type_status_id ON tasks (type, status, id);
