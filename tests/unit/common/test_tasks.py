"""stop_task: a task that swallows its first cancellation is still stopped."""

from __future__ import annotations

import asyncio

from git44_common.tasks import stop_task


async def test_a_task_that_swallows_a_cancel_is_cancelled_again_until_it_ends() -> None:
    swallowed = 0

    async def stubborn() -> None:
        nonlocal swallowed
        while True:
            try:
                await asyncio.sleep(10)
            except asyncio.CancelledError:
                if swallowed >= 2:
                    raise
                swallowed += 1  # what a library turning the cancel into another error does

    task = asyncio.create_task(stubborn())
    await asyncio.sleep(0)
    await asyncio.wait_for(stop_task(task, every=0.01), timeout=5)
    assert task.cancelled()
    assert swallowed == 2


async def test_a_task_that_failed_is_stopped_without_raising() -> None:
    async def broken() -> None:
        raise RuntimeError("boom")

    task = asyncio.create_task(broken())
    await asyncio.sleep(0)
    await stop_task(task)
    assert isinstance(task.exception(), RuntimeError)
