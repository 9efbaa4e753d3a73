"""The dashboard as a person uses it: a real Chromium against a live server.

Each test takes a screenshot of the pages it sees; with DASHBOARD_SCREENSHOT=<file.png>, the
overview test also writes its screenshot there (README's docs/dashboard.png).
"""

from __future__ import annotations

import os
import time
from pathlib import Path

from playwright.sync_api import Page, expect

from tests.e2e.dashboard.conftest import READ, WRITE, Console
from tests.e2e.dashboard.support import Api
from tests.e2e.server import Server

LATER = "&delay=3600"


def log_in(page: Page, server: Server, token: str) -> None:
    page.goto(f"{server.url}/dashboard")
    expect(page.locator("#token")).to_be_visible()
    assert page.url.startswith(f"{server.url}/dashboard/login?next=")
    page.fill("#token", token)
    page.click("#login")
    expect(page.locator("#role")).to_have_text("write access" if token == WRITE else "read access")


def count(page: Page, status: str) -> str:
    return f'[data-count="{status}"]'


def test_overview_shows_the_counts_posted_and_refreshes_until_paused(
    page: Page, server: Server, shots: Path
) -> None:
    api = Api(server)
    api.finished(api.submit("echo", [1, 2, 3]) + api.submit("boom", [4, 5]))
    api.submit("echo", [6, 7], LATER)
    page.goto(f"{server.url}/dashboard")
    expect(page.locator(count(page, "done"))).to_have_text("3")
    expect(page.locator(count(page, "failed"))).to_have_text("2")
    expect(page.locator(count(page, "queued"))).to_have_text("2")
    expect(page.locator(count(page, "running"))).to_have_text("0")
    expect(page.locator('#by-type tr[data-type="echo"] td').last).to_have_text("5")
    expect(page.locator('#by-type tr[data-type="boom"] td').last).to_have_text("2")
    chart = page.locator("#throughput")
    expect(chart).to_have_attribute("aria-label", "3 done and 2 failed in the last hour")
    instances = page.locator("#instances tbody tr")
    expect(instances).to_have_count(1)
    expect(instances.locator("td").nth(5)).to_have_text("4")  # SERVICE_CONCURRENCY
    expect(instances.locator("td").nth(4)).to_contain_text("s left")
    page.screenshot(path=shots / "overview.png", full_page=True)
    if target := os.environ.get("DASHBOARD_SCREENSHOT"):
        page.screenshot(path=target, full_page=True)

    api.finished(api.submit("echo", [8]))  # shown without reloading the page
    expect(page.locator(count(page, "done"))).to_have_text("4")
    page.click("#pause")
    expect(page.locator("#pause")).to_have_text("Resume live updates")
    api.finished(api.submit("echo", [9]))
    time.sleep(4.5)  # longer than the refresh interval
    expect(page.locator(count(page, "done"))).to_have_text("4")
    page.click("#pause")
    expect(page.locator(count(page, "done"))).to_have_text("5")


def test_a_failed_task_shows_its_error_and_is_retried_by_clicking(
    page: Page, server: Server, shots: Path
) -> None:
    api = Api(server)
    [failed] = api.submit("boom", ["payload-x"])
    before = api.finished([failed])
    api.finished(api.submit("echo", [1, 2]))
    page.goto(f"{server.url}/dashboard/tasks?status=failed")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(1)
    expect(rows.first).to_contain_text("cannot handle 'payload-x'")
    page.screenshot(path=shots / "tasks.png", full_page=True)
    page.click(f'a[href="/dashboard/task/{failed}"]')
    expect(page.locator("#task-error")).to_have_text("ValueError: cannot handle 'payload-x'")
    expect(page.locator("#task-payload")).to_have_text('"payload-x"')
    expect(page.locator("#task-attempts")).to_have_text("1 of 1")
    page.screenshot(path=shots / "task.png", full_page=True)
    page.click("#retry")
    expect(page.locator("#notice")).to_have_text("The task is queued again.")
    [again] = api.refinished(before).values()
    assert (again["status"], again["attempts"]) == ("failed", 1)


def test_a_queued_task_is_cancelled_by_clicking_with_a_write_token(
    page: Page, guarded: Server, shots: Path
) -> None:
    api = Api(guarded, WRITE)
    [waiting] = api.submit("echo", [1], LATER)
    log_in(page, guarded, WRITE)
    page.goto(f"{guarded.url}/dashboard/task/{waiting}")
    expect(page.locator("#task-status")).to_have_text("queued")
    page.click("#cancel")
    expect(page.locator("#notice")).to_have_text("The task is cancelled.")
    expect(page.locator("#task-status")).to_have_text("cancelled")
    assert api.task(waiting)["status"] == "cancelled"
    page.screenshot(path=shots / "cancelled.png", full_page=True)


def test_bulk_retry_asks_then_retries_exactly_the_failed_tasks_of_the_filter(
    page: Page, server: Server, shots: Path
) -> None:
    api = Api(server)
    booms = api.finished(api.submit("boom", [1, 2, 3]))
    flaky = api.finished(api.submit("flaky", [9, 9]))  # fail too, but of another type
    done = api.finished(api.submit("echo", [1]))
    page.goto(f"{server.url}/dashboard/tasks?type=boom")
    page.click("#retry-failed")
    expect(page.locator("#confirm-count")).to_contain_text("Retry 3 failed tasks?")
    page.screenshot(path=shots / "confirm.png", full_page=True)
    page.click("#confirm")
    expect(page.locator("#notice")).to_have_text("3 failed tasks queued again.")
    expect(page).to_have_url(f"{server.url}/dashboard/tasks?type=boom&retried=3")
    assert set(api.refinished(booms)) == set(booms)
    time.sleep(0.5)
    assert {task_id: api.task(task_id) for task_id in flaky} == flaky
    assert {task_id: api.task(task_id) for task_id in done} == done


def test_the_list_filters_by_id_prefix_and_pages_newest_first(page: Page, server: Server) -> None:
    api = Api(server)
    ids = api.submit("echo", list(range(60)), LATER)
    page.goto(f"{server.url}/dashboard/tasks?status=queued")
    rows = page.locator("#tasks tbody tr")
    expect(rows).to_have_count(50)
    shown = [rows.nth(n).get_attribute("data-id") for n in range(50)]
    assert shown == sorted(ids, reverse=True)[:50]
    page.click("#next-page")
    expect(rows).to_have_count(10)
    one = ids[17]
    page.goto(f"{server.url}/dashboard/tasks")
    page.fill('input[name="prefix"]', one[:30])
    page.click("button[type=submit] >> text=Filter")
    expect(rows).to_have_count(1)
    expect(rows.first).to_have_attribute("data-id", one)


def test_a_read_token_sees_everything_and_no_working_action(
    page: Page, guarded: Server, shots: Path
) -> None:
    api = Api(guarded, WRITE)
    [failed] = api.submit("boom", [1])
    api.finished([failed])
    [waiting] = api.submit("echo", [1], LATER)
    page.goto(f"{guarded.url}/dashboard")
    page.fill("#token", "not-a-token")
    page.click("#login")
    expect(page.locator("#login-error")).to_have_text("That token is not valid.")
    log_in(page, guarded, READ)
    expect(page.locator(count(page, "failed"))).to_have_text("1")
    page.goto(f"{guarded.url}/dashboard/tasks")
    expect(page.locator("#tasks tbody tr")).to_have_count(2)
    expect(page.locator("#retry-failed")).to_have_count(0)
    page.goto(f"{guarded.url}/dashboard/task/{failed}")
    expect(page.locator("#task-error")).to_contain_text("ValueError")
    expect(page.locator("button#retry")).to_have_count(0)
    page.goto(f"{guarded.url}/dashboard/task/{waiting}")
    expect(page.locator("button#cancel")).to_have_count(0)
    page.screenshot(path=shots / "read-only.png", full_page=True)
    # The same POST the write token's button sends, with the read token's cookie: refused.
    refused = page.request.post(f"{guarded.url}/dashboard/task/{waiting}/cancel")
    assert refused.status == 403
    bulk = page.request.post(
        f"{guarded.url}/dashboard/retry-failed", form={"type": "", "prefix": "", "upto": failed}
    )
    assert bulk.status == 403
    assert api.task(waiting)["status"] == "queued"
    assert api.task(failed)["status"] == "failed"


def test_a_post_from_another_site_is_refused(page: Page, server: Server, console: Console) -> None:
    api = Api(server)
    [waiting] = api.submit("echo", [1], LATER)
    target = f"{server.url}/dashboard/task/{waiting}/cancel"
    page.set_content(f'<form method="post" action="{target}"><button id="go">go</button></form>')
    with page.expect_navigation() as navigation:
        page.click("#go")
    response = navigation.value
    assert response is not None and response.status == 403
    expect(page.locator("#problem")).to_have_text("A request from another site is refused.")
    assert api.task(waiting)["status"] == "queued"
    # The refusal itself is logged as a failed load; nothing else may be.
    console.errors = [
        error for error in console.errors if not ("status of 403" in error and target in error)
    ]


def test_the_instances_sharing_a_file_are_shown_with_their_concurrency(
    page: Page, tmp_path: Path, shots: Path
) -> None:
    env = {"SERVICE_STORE": f"sqlite:///{tmp_path / 'shared.db'}"}
    first = Server(tmp_path, {**env, "SERVICE_CONCURRENCY": "2"})
    second = Server(tmp_path, {**env, "SERVICE_CONCURRENCY": "7"})
    with first, second:
        api = Api(first)
        api.submit("sleep", [30, 30])  # one process holds them, running
        page.goto(f"{second.url}/dashboard")
        rows = page.locator("#instances tbody tr")
        expect(rows).to_have_count(2)
        expect(page.locator(count(page, "running"))).to_have_text("2")
        cells = {rows.nth(n).locator("td").nth(2).inner_text(): rows.nth(n) for n in range(2)}
        pids = [str(server.process.pid) for server in (first, second) if server.process]
        assert sorted(cells) == sorted(pids)
        expect(cells[pids[0]].locator("td").nth(5)).to_have_text("2")
        expect(cells[pids[1]].locator("td").nth(5)).to_have_text("7")
        in_flight = [row.locator("td").nth(6).inner_text() for row in cells.values()]
        assert sorted(in_flight) in (["0", "2"], ["1", "1"])
        page.screenshot(path=shots / "instances.png", full_page=True)
