"""Every payload intake accepts can be stored, read back and served; the rest is 400 at the door."""

from __future__ import annotations

import asyncio
from typing import Any

import pytest

from service.jsoncodec import MAX_DEPTH
from tests.conftest import Running, Starter
from tests.test_errors import JSON, refused


def nested(depth: int) -> bytes:
    return b'{"a":' * (depth - 1) + b"[1]" + b"}" * (depth - 1)


async def post_raw(running: Running, path: str, body: bytes) -> Any:
    return await running.client.post(path, data=body, headers=JSON)


async def read_back(running: Running, response: Any) -> bytes:
    """The task's payload as the service serves it, in raw JSON."""
    assert response.status_code == 202, await response.get_data()
    task_id = (await response.get_json())["id"]
    await running.wait_finished(task_id)
    served = await running.client.get(f"/task/{task_id}")
    assert served.status_code == 200
    text: bytes = await served.get_data(as_text=False)
    return text


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b'"\\ud800"', "lone surrogate"),
        (b'{"k": "ok \\udfff"}', "lone surrogate"),
        (b'{"\\ud800": 1}', "lone surrogate"),
        (nested(MAX_DEPTH + 1), f"nested deeper than {MAX_DEPTH} levels"),
        (b"[" * 1024 + b"]" * 1024, f"nested deeper than {MAX_DEPTH} levels"),
        (b"1e400", "out of range"),
        (b'{"x": [-1E+999]}', "out of range"),
        (b"1" * 5000, "kept exactly up to 4300 digits; one has 5000"),
    ],
    ids=[
        "surrogate",
        "surrogate-in-value",
        "surrogate-key",
        "deep",
        "deeper",
        "inf",
        "-inf",
        "huge",
    ],
)
async def test_what_cannot_be_kept_is_refused_at_the_door(
    start: Starter, body: bytes, reason: str
) -> None:
    async with start() as running:
        response = await post_raw(running, "/task?type=echo", body)
        await refused(running, response, 400, "invalid_json")
        assert reason in (await response.get_json())["message"]


async def test_one_bad_item_refuses_its_batch(start: Starter) -> None:
    async with start() as running:
        response = await post_raw(running, "/tasks?type=echo", b'[1, "\\ud800", 3]')
        await refused(running, response, 400, "invalid_json")


@pytest.mark.parametrize("path", ["/task", "/tasks"])
async def test_nesting_at_the_limit_is_stored_read_back_and_served(
    start: Starter, path: str
) -> None:
    async with start() as running:
        deepest = nested(MAX_DEPTH)
        body = deepest if path == "/task" else b"[" + deepest + b"]"
        response = await post_raw(running, f"{path}?type=dummy", body)
        assert response.status_code == 202, await response.get_data()
        ids = (await response.get_json()).get("ids") or [(await response.get_json())["id"]]
        record = await running.wait_finished(ids[0])
        assert record["status"] == "done"
        depth, payload = 0, record["payload"]
        while isinstance(payload, dict):
            depth, payload = depth + 1, payload["a"]
        assert depth == MAX_DEPTH - 1 and payload == [1]


async def test_wide_integers_are_kept_exactly(start: Starter) -> None:
    async with start() as running:
        wide = "-" + "9" * 4300
        body = f'{{"n": 123456789012345678901234567890, "m": {wide}, "f": 1e-400}}'
        served = await read_back(running, await post_raw(running, "/task?type=echo", body.encode()))
        assert b'"payload":{"n":123456789012345678901234567890,"m":' + wide.encode() in served
        assert b'"f":0.0' in served


async def test_bad_payloads_do_not_fail_the_good_ones_beside_them(start: Starter) -> None:
    """Refused at the door, a bad payload never shares a transaction with good ones."""
    async with start() as running:
        bad = [post_raw(running, "/task?type=echo", b'["\\ud800"]') for _ in range(20)]
        good = [running.post("/task?type=echo", n) for n in range(100)]
        answers = await asyncio.gather(*bad, *good)
        assert [a.status_code for a in answers] == [400] * 20 + [202] * 100
        for answer in answers[20:]:
            record = await running.wait_finished((await answer.get_json())["id"])
            assert record["status"] == "done"


async def test_a_result_that_cannot_be_kept_fails_the_attempt(start: Starter) -> None:
    async with start() as running:
        response = await running.post("/task?type=returns_deep", MAX_DEPTH + 1)
        record = await running.wait_finished((await response.get_json())["id"])
        assert record["status"] == "failed"
        assert f"nested deeper than {MAX_DEPTH} levels" in record["error"]
