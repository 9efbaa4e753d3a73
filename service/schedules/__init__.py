"""Periodic tasks: `schedule(...)` in a handler module, one task per tick, whatever runs.

declare.py  `schedule()`, and the checks that turn declarations into schedules at start-up
ticks.py    when ticks fall due (every N seconds, or cron in a time zone), and catch-up
loop.py     the scheduler each process runs: it stores due ticks with their tasks
"""

from .declare import Declared, Schedule, check_all, load, schedule
from .loop import Scheduler, Standing

__all__ = ["Declared", "Schedule", "Scheduler", "Standing", "check_all", "load", "schedule"]
