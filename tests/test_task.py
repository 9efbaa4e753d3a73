import copy
from dataclasses import fields

from service.task import Task


def test_a_copy_keeps_every_field_and_is_a_task_of_its_own() -> None:
    task = Task("t", {"a": 1}, priority=3, max_attempts=4, run_at=5.0, status="failed")
    task.attempts, task.result, task.error, task.started_at = 2, [1], "boom", 6.0
    task.finished_at, task.idempotency_key, task.fingerprint = 7.0, "k", "f"
    task.seq, task.claim = 8, ("owner", 2)

    clone = copy.copy(task)

    assert clone is not task
    assert [getattr(clone, f.name) for f in fields(Task)] == [
        getattr(task, f.name) for f in fields(Task)
    ]
    clone.status = "queued"
    assert task.status == "failed"
