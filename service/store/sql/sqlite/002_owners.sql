-- Version 2: the processes that hold tasks, each with a lease it renews while it lives.
CREATE TABLE owners (
    id         TEXT PRIMARY KEY,
    host       TEXT NOT NULL,
    pid        INTEGER NOT NULL,
    expires_at REAL NOT NULL
);
