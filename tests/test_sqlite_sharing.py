"""SQLite processes on one file: dead and live owners, leases, fencing, cancels, due times."""

from __future__ import annotations

import asyncio
import socket
import sys
import time
from pathlib import Path

import pytest

from service import Task
from service.store.base import Claimed, Lease
from tests.sqlite_stores import (
    NO_SUCH_PID,
    ROOT,
    Opener,
    execute,
    expire,
    marked_claimed,
    sqlite_store,
    stored,
)

CRASH = """
import asyncio, os, sys
from service import Settings, Task
from service.store.sqlite import SQLiteStore

async def main() -> None:
    store = SQLiteStore(Settings(store="sqlite:///" + sys.argv[1], lease_timeout=60))
    await store.open()
    await store.add([Task("echo", "running", priority=9), Task("echo", "queued")])
    [task] = (await store.claim(1)).tasks
    print(task.id, flush=True)
    os._exit(0)  # dies holding its claim: no release, no close

asyncio.run(main())
"""


async def test_running_tasks_of_a_dead_process_are_taken_over_at_once(
    path: Path, opener: Opener
) -> None:
    crashed = await asyncio.create_subprocess_exec(
        sys.executable, "-c", CRASH, str(path), cwd=ROOT, stdout=asyncio.subprocess.PIPE
    )
    output, _ = await crashed.communicate()
    assert crashed.returncode == 0
    running_id = output.decode().strip()

    successor = await opener()
    [queued] = (await successor.claim(10)).tasks  # queued tasks belong to nobody
    assert queued.payload == "queued"
    assert (await successor.claim(10)).tasks == []  # the running one is still the dead's
    assert await successor.take_over() == 1  # its pid is gone: no wait for its 60 s lease
    [again] = (await successor.claim(10)).tasks
    assert (again.id, again.payload, again.status) == (running_id, "running", "running")
    assert (again.attempts, again.claim) == (2, (successor.owner, 2))
    assert (await successor.heartbeat()).peers == 0  # the dead owner is forgotten
    assert await successor.take_over() == 0


@pytest.mark.parametrize(
    ("host", "at_once"),
    [(socket.gethostname(), True), ("elsewhere", False)],
    ids=["this host", "another host"],
)
async def test_a_dead_pid_counts_on_this_host_only(
    path: Path, opener: Opener, host: str, at_once: bool
) -> None:
    store = await opener()
    task = Task(type="echo", payload=1)
    await store.add([task])
    execute(
        path,
        "INSERT INTO owners (id, host, pid, expires_at) VALUES ('ghost', ?, ?, ?)",
        (host, NO_SUCH_PID, 1e12),
    )
    execute(path, "UPDATE tasks SET status = 'running', owner = 'ghost', attempts = 1")
    assert await store.take_over() == (1 if at_once else 0)
    if not at_once:  # a pid on another host says nothing: only its lease does
        expire(path, "ghost")
        assert await store.take_over() == 1
    [claimed] = (await store.claim(5)).tasks
    assert (claimed.id, claimed.attempts) == (task.id, 2)


async def test_a_live_owner_keeps_its_running_tasks_until_its_lease_runs_out(
    path: Path, opener: Opener
) -> None:
    holder, other = await opener(), await opener()
    task = Task(type="echo", payload=1)
    await holder.add([task])
    [held] = (await holder.claim(10)).tasks
    assert await other.take_over() == 0
    assert (await other.claim(10)).tasks == []
    assert stored(path) == {task.id: ("running", 1, holder.owner)}
    expire(path, holder.owner)
    assert await other.take_over() == 1
    assert stored(path) == {task.id: ("queued", 1, None)}
    [taken] = (await other.claim(10)).tasks
    assert (taken.id, taken.attempts, taken.claim) == (task.id, 2, (other.owner, 2))
    assert (await other.claim(10)).tasks == []
    assert held.claim == (holder.owner, 1)


async def test_a_closed_store_leaves_its_running_tasks_to_the_others_at_once(
    opener: Opener,
) -> None:
    leaving, staying = await opener(lease_timeout=60), await opener(lease_timeout=60)
    await leaving.add([Task(type="echo", payload=1)])
    [task] = (await leaving.claim(1)).tasks
    await leaving.close()  # without giving the task back: its lease goes with it
    assert await staying.take_over() == 1
    [again] = (await staying.claim(1)).tasks
    assert (again.id, again.attempts) == (task.id, 2)


async def test_claims_are_exclusive_between_owners(path: Path) -> None:
    seeder = sqlite_store(path)
    await seeder.open()
    await seeder.add([Task(type="echo", payload=n) for n in range(200)])
    await seeder.close()

    owners = [sqlite_store(path) for _ in range(3)]
    for owner in owners:
        await owner.open()
    try:
        claims = [(owner, owner.claim(30)) for owner in owners for _ in range(3)]
        batches = await asyncio.gather(*(claim for _, claim in claims))
        claimed = [task.id for batch in batches for task in batch.tasks]
        assert len(claimed) == len(set(claimed)) == 200  # 9 claims of 30: all, once each
        for (owner, _), batch in zip(claims, batches, strict=True):
            assert {task.claim for task in batch.tasks} <= {(owner.owner, 1)}
    finally:
        for owner in owners:
            await owner.close()


async def test_a_lapsed_lease_claims_nothing_and_its_late_ends_are_fenced(
    path: Path, opener: Opener
) -> None:
    stalled, alive = await opener(), await opener()
    await stalled.add([Task(type="echo", payload=n) for n in range(3)])
    mine = (await stalled.claim(2)).tasks
    old_owner = stalled.owner
    expire(path, old_owner)
    assert await stalled.claim(5) == Claimed()  # one task is due, but not for this process
    assert await alive.take_over() == 2
    taken = (await alive.claim(5)).tasks
    assert sorted(task.attempts for task in taken) == [1, 2, 2]
    for task in mine:  # the stalled process comes back and ends its attempts, too late
        task.status, task.finished_at, task.result = "done", time.time(), "late"
        stalled.record(task)
    await stalled.flush()
    assert stalled.fenced == 2
    for task in taken:
        found = await stalled.get(task.id)
        assert found is not None and (found.status, found.claim) == ("running", task.claim)
    lease = await stalled.heartbeat()
    assert lease == Lease(lapsed=True, peers=1) and stalled.owner != old_owner
    assert await stalled.heartbeat() == Lease(lapsed=False, peers=1)
    fresh = Task(type="echo", payload="fresh")
    await alive.add([fresh])
    [claimed] = (await stalled.claim(5)).tasks  # under its fresh lease, it works again
    assert (claimed.id, claimed.claim) == (fresh.id, (stalled.owner, 1))


async def test_peers_are_the_other_live_owners(path: Path, opener: Opener) -> None:
    first, second, third = await opener(), await opener(), await opener()
    assert await first.heartbeat() == Lease(lapsed=False, peers=2)
    expire(path, third.owner)
    assert (await first.heartbeat()).peers == 1
    await second.close()
    assert (await first.heartbeat()).peers == 0
    assert await third.heartbeat() == Lease(lapsed=True, peers=1)
    assert (await first.heartbeat()).peers == 1


async def test_new_tasks_marked_claimed_under_a_lapsed_lease_are_stored_queued(
    path: Path, opener: Opener
) -> None:
    store = await opener()
    old_owner = store.owner
    expire(path, old_owner)
    started = marked_claimed(Task(type="echo", payload=1), old_owner)
    plain = Task(type="echo", payload=2)
    assert await store.add([started, plain]) == [started, plain]
    assert (started.status, started.attempts, started.claim, started.started_at) == (
        "queued",
        0,
        None,
        None,
    )
    assert stored(path) == {started.id: ("queued", 0, None), plain.id: ("queued", 0, None)}
    assert (await store.heartbeat()).lapsed
    claimed = (await store.claim(5)).tasks
    assert [task.id for task in claimed] == [started.id, plain.id]
    assert {task.claim for task in claimed} == {(store.owner, 1)}


async def test_another_process_cancels_a_queued_task_and_it_never_starts(
    opener: Opener,
) -> None:
    first, second = await opener(), await opener()
    delayed = Task(type="echo", payload=1, run_at=time.time() + 0.2)
    queued, running = Task(type="echo", payload=2), Task(type="echo", payload=3, priority=1)
    await first.add([delayed, queued, running])
    [claimed] = (await first.claim(1)).tasks
    assert claimed.id == running.id
    for task in (delayed, queued):
        cancelled = await second.cancel(task.id)
        assert cancelled is not None and cancelled.status == "cancelled"
        assert cancelled.finished_at is not None
    not_cancelled = await second.cancel(running.id)
    assert not_cancelled is not None and not_cancelled.status == "running"
    await asyncio.sleep(0.25)  # the delayed one would be due by now
    assert await first.claim(5) == Claimed()
    assert await second.claim(5) == Claimed()
    found = await first.get(delayed.id)
    assert found is not None and found.status == "cancelled"
    assert await second.count_unfinished() == 1


async def test_next_due_is_the_seconds_until_the_earliest_delayed_task(opener: Opener) -> None:
    store = await opener()
    now = time.time()
    later, sooner = Task("echo", 1, run_at=now + 30), Task("echo", 2, run_at=now + 10)
    overdue, due = Task("echo", 3, run_at=now - 5), Task("echo", 4)
    await store.add([later, sooner, overdue, due])
    claimed = await store.claim(5)
    assert [task.id for task in claimed.tasks] == [overdue.id, due.id]
    assert claimed.next_due is not None and 9 < claimed.next_due <= 10
    await store.add([Task("echo", 5)])
    full = await store.claim(1)  # it took all it asked for: no need to look further
    assert len(full.tasks) == 1 and full.next_due is None
    for task in (later, sooner):
        await store.cancel(task.id)
    assert await store.claim(5) == Claimed()  # nothing queued: no time to wait for
