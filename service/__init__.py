"""A background-task service: POST a task, it runs in the background of the same process."""

from .app import create_app
from .handlers import Handler, handler
from .schedules import schedule
from .settings import Settings
from .task import Task

__all__ = ["Handler", "Settings", "Task", "app", "create_app", "handler", "schedule"]

app = create_app()
