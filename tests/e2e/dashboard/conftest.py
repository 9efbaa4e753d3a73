"""A real headless Chromium (Debian's `chromium`) driven by Playwright, against a live server.

Nothing here skips: without /usr/bin/chromium the tests fail, saying what to install.
Every page a test opens is checked for console errors and uncaught exceptions at the end.
"""

from __future__ import annotations

import os
from collections.abc import Iterator
from pathlib import Path

import pytest
from playwright.sync_api import Browser, ConsoleMessage, Error, Page, expect, sync_playwright

from tests.e2e.server import Server

CHROMIUM = Path(os.environ.get("CHROMIUM", "/usr/bin/chromium"))
WRITE, READ = "write-token-1", "read-token-1"
expect.set_options(timeout=10_000)  # a page refreshes itself every 3 s


@pytest.fixture(scope="module")
def browser() -> Iterator[Browser]:
    """One Chromium per module: Playwright's loop must be gone before async tests run."""
    assert CHROMIUM.exists(), (
        f"{CHROMIUM} is missing: the dashboard tests need Debian's chromium "
        "(apt-get install -y chromium)"
    )
    with sync_playwright() as playwright:
        launched = playwright.chromium.launch(executable_path=str(CHROMIUM), headless=True)
        try:
            yield launched
        finally:
            launched.close()


class Console:
    """Errors the pages logged or threw."""

    def __init__(self) -> None:
        self.errors: list[str] = []

    def message(self, message: ConsoleMessage) -> None:
        if message.type == "error":
            self.errors.append(f"console: {message.text} at {message.location}")

    def exception(self, error: Error) -> None:
        self.errors.append(f"uncaught: {error}")


@pytest.fixture
def console() -> Console:
    return Console()


@pytest.fixture
def page(browser: Browser, console: Console) -> Iterator[Page]:
    context = browser.new_context(viewport={"width": 1280, "height": 900})
    opened = context.new_page()
    opened.set_default_timeout(10_000)
    opened.on("console", console.message)
    opened.on("pageerror", console.exception)
    try:
        yield opened
    finally:
        context.close()
    assert console.errors == []


@pytest.fixture
def shots(tmp_path: Path) -> Path:
    """Where the tests put their screenshots."""
    folder = tmp_path / "screenshots"
    folder.mkdir()
    return folder


def sqlite_server(tmp_path: Path, **env: str) -> Server:
    return Server(
        tmp_path,
        {"SERVICE_STORE": f"sqlite:///{tmp_path / 'tasks.db'}", "SERVICE_CONCURRENCY": "4", **env},
    )


@pytest.fixture
def server(tmp_path: Path) -> Iterator[Server]:
    """No tokens: the dashboard is open, as the API is."""
    with sqlite_server(tmp_path) as running:
        yield running


@pytest.fixture
def guarded(tmp_path: Path) -> Iterator[Server]:
    """A write and a read token."""
    tokens = {"SERVICE_WRITE_TOKENS": WRITE, "SERVICE_READ_TOKENS": READ}
    with sqlite_server(tmp_path, **tokens) as running:
        yield running
