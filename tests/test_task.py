import copy
import os
import re
from dataclasses import fields

from service.task import Task, new_id


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


def test_ids_are_unique_sort_by_creation_and_end_in_128_random_bits() -> None:
    ids = [new_id() for _ in range(2000)]  # several reads of the random source

    assert len(set(ids)) == len(ids)
    assert all(re.fullmatch(r"[0-9a-f]{44}", each) for each in ids)
    assert [each[:12] for each in ids] == sorted(each[:12] for each in ids)
    assert len({each[12:] for each in ids}) == len(ids)


def test_a_forked_child_does_not_reuse_its_parents_random_bits() -> None:
    new_id()  # the parent holds unused random parts now
    reading, writing = os.pipe()
    child = os.fork()
    if child == 0:  # pragma: no cover - the child reports through the pipe and exits
        os.write(writing, new_id().encode())
        os._exit(0)
    os.close(writing)
    os.waitpid(child, 0)
    with os.fdopen(reading) as pipe:
        from_child = pipe.read()
    assert from_child[12:] != new_id()[12:]
