"""The shutdown summary tells the truth about what the store took back."""

from __future__ import annotations

import logging
import re
from pathlib import Path

import pytest

from service import Settings, create_app


async def test_released_counts_only_what_the_store_took_back(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    caplog.set_level(logging.INFO, "service")
    path = tmp_path / "tasks.db"
    settings = Settings(
        store=f"sqlite:///{path}",
        handlers=("tests.sample_handlers",),
        drain_timeout=0.2,
        concurrency=1,
    )
    app = create_app(settings)
    async with app.test_app():
        client = app.test_client()
        response = await client.post("/tasks?type=gated", json=[1, 2, 3])
        assert response.status_code == 202
        path.unlink()  # nothing can be given back to a file that is gone
    line = re.search(r"stopped after .*", caplog.text)
    assert line is not None, caplog.text
    assert "abandoned=3 (run again once the lease runs out) released=0" in line.group(0)
    assert "could not give 3 unfinished tasks back to the store" in caplog.text
    assert "closing the store failed" in caplog.text
