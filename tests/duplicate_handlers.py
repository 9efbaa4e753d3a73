"""A module that registers a built-in name again: start-up must refuse it."""

from service import Task, handler


@handler("dummy")
async def second_dummy(task: Task) -> None:
    return None
