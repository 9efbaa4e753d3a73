"""The SQLite store: durable by default, with group commit.

store.py      the queue's verbs (add, record, claim, release, maintain)
reads.py      tasks by id, pages of tasks, the queue's counts
owners.py     the processes sharing the file, and their leases
claims.py     the claim of due tasks under a lease
views.py      what the dashboard reads (counts, throughput, instances), the bulk retry
connector.py  the thread that owns the connection and runs each transaction
rows.py       tasks to rows and back, and the writes of single tasks
ticks.py      the ticks of schedules, stored with their tasks
schema.py     the numbered migrations in ../sql/sqlite/
"""

from .connector import BUSY_TIMEOUT_MS, CACHE_KIB, database_path
from .rows import QUERIES
from .schema import migrate
from .store import SQLiteStore

__all__ = ["BUSY_TIMEOUT_MS", "CACHE_KIB", "QUERIES", "SQLiteStore", "database_path", "migrate"]
