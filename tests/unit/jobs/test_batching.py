"""Batcher: what arrives during a flush shares the next flush; results go to their waiters."""

from __future__ import annotations

import asyncio

import pytest

from git44_jobs.core.batching import Batcher


class Recorder:
    """A flush that records its batches and holds each one until released."""

    def __init__(self) -> None:
        self.batches: list[list[int]] = []
        self.release = asyncio.Event()

    async def __call__(self, items: list[int]) -> list[int | BaseException]:
        self.batches.append(list(items))
        await self.release.wait()
        return [ValueError(f"odd {i}") if i % 2 else i * 10 for i in items]


async def test_a_lone_item_is_flushed_at_once() -> None:
    recorder = Recorder()
    recorder.release.set()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t")
    assert await batcher.submit(4) == 40
    assert recorder.batches == [[4]]


async def test_items_arriving_during_a_flush_share_the_next_one_in_order() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=3, name="t")
    first = asyncio.create_task(batcher.submit(0))
    await asyncio.sleep(0)  # the first flush starts with item 0 alone
    rest = [asyncio.create_task(batcher.submit(i)) for i in (2, 4, 6, 8)]
    await asyncio.sleep(0)
    recorder.release.set()
    assert await first == 0
    assert [await task for task in rest] == [20, 40, 60, 80]
    # at most max_batch per flush, arrival order kept
    assert recorder.batches == [[0], [2, 4, 6], [8]]


async def test_an_exception_result_reaches_only_its_own_waiter() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t")
    tasks = [asyncio.create_task(batcher.submit(i)) for i in (2, 3, 4)]
    await asyncio.sleep(0)
    recorder.release.set()
    results = await asyncio.gather(*tasks, return_exceptions=True)
    assert (results[0], results[2]) == (20, 40)
    assert isinstance(results[1], ValueError)
    assert recorder.batches == [[2, 3, 4]]


async def test_a_failing_flush_fails_every_waiter_of_its_batch_and_the_next_batch_runs() -> None:
    calls: list[list[int]] = []

    async def flush(items: list[int]) -> list[int | BaseException]:
        calls.append(list(items))
        if len(calls) == 1:
            raise ConnectionError("database down")
        return list(items)

    batcher: Batcher[int, int] = Batcher(flush, max_batch=10, name="t")
    tasks = [asyncio.create_task(batcher.submit(i)) for i in (1, 2)]
    for task in tasks:
        with pytest.raises(ConnectionError):
            await task
    assert await batcher.submit(3) == 3
    assert calls == [[1, 2], [3]]


async def test_a_waiter_cancelled_before_its_batch_starts_is_left_out() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t")
    first = asyncio.create_task(batcher.submit(0))
    await asyncio.sleep(0)
    gone = asyncio.create_task(batcher.submit(2))
    kept = asyncio.create_task(batcher.submit(4))
    await asyncio.sleep(0)
    gone.cancel()
    recorder.release.set()
    assert (await first, await kept) == (0, 40)
    assert recorder.batches == [[0], [4]]


async def test_close_waits_for_the_running_flush() -> None:
    recorder = Recorder()
    batcher: Batcher[int, int] = Batcher(recorder, max_batch=10, name="t")
    pending = asyncio.create_task(batcher.submit(2))
    await asyncio.sleep(0)
    closing = asyncio.create_task(batcher.close())
    await asyncio.sleep(0.01)
    assert not closing.done()
    recorder.release.set()
    await closing
    assert await pending == 20
