"""The PostgreSQL store: shared by every process that opens the same database.

store.py       the queue's verbs (add, claim, record, release, heartbeat, take_over...)
writes.py      one group commit's transaction: new tasks, fenced states, operations
reads.py       tasks by id, pages of tasks, the queue's counts
connection.py  connections, their errors, reconnection
listener.py    LISTEN for new work, and come back after losing the connection
rows.py        tasks to query arguments and back
ticks.py       the ticks of schedules, stored with their tasks
schema.py      the numbered migrations in ../sql/postgresql/
views.py       what the dashboard reads: counts, throughput, instances
upkeep.py      forgetting expired tasks and long-gone owners
"""

from .connection import Connector, is_global
from .listener import CHANNEL, Listener
from .schema import migrate
from .store import PostgreSQLStore

__all__ = ["CHANNEL", "Connector", "Listener", "PostgreSQLStore", "is_global", "migrate"]
