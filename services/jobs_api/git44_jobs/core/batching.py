"""Batching writes: what arrives while one database call runs goes into the next call.

No timer and no linger: a lone item is flushed at once, exactly as without batching;
under concurrency the items that queued up during a flush share the next one, so the
number of database round trips grows with the rate of flushes, not with the rate of
requests. One flush runs at a time per `Batcher` (per process).

`flush(items)` answers one result per item, in order; a result that is an exception is
raised to that item's waiter only. If `flush` itself raises, every waiter of that batch
gets the exception.
"""

from __future__ import annotations

import asyncio
from collections.abc import Awaitable, Callable
from dataclasses import dataclass, field
from typing import Generic, TypeVar

T = TypeVar("T")
R = TypeVar("R")


@dataclass
class _Waiting(Generic[T, R]):
    item: T
    result: asyncio.Future[R]


@dataclass(eq=False)
class Batcher(Generic[T, R]):
    """Flushes items in batches of at most `max_batch`; `name` names its task."""

    flush: Callable[[list[T]], Awaitable[list[R | BaseException]]]
    max_batch: int
    name: str
    _queue: list[_Waiting[T, R]] = field(default_factory=list, init=False)
    _drainer: asyncio.Task[None] | None = field(default=None, init=False)

    async def submit(self, item: T) -> R:
        """Flush `item` with whatever else is waiting; its result (or its exception).

        A waiter cancelled before its batch starts is left out of it."""
        waiting: _Waiting[T, R] = _Waiting(item, asyncio.get_running_loop().create_future())
        self._enqueue(waiting)
        return await waiting.result

    async def close(self) -> None:
        """Wait until everything queued so far is flushed."""
        while self._drainer is not None and not self._drainer.done():
            await asyncio.shield(self._drainer)

    def _enqueue(self, waiting: _Waiting[T, R]) -> None:
        self._queue.append(waiting)
        if self._drainer is None or self._drainer.done():
            self._drainer = asyncio.create_task(self._drain(), name=f"batch-{self.name}")

    async def _drain(self) -> None:
        while self._queue:
            batch = self._queue[: self.max_batch]
            del self._queue[: self.max_batch]
            live = [w for w in batch if not w.result.done()]
            if live:
                await self._flush_batch(live)

    async def _flush_batch(self, batch: list[_Waiting[T, R]]) -> None:
        try:
            results = await self.flush([w.item for w in batch])
        except Exception as exc:  # every waiter of the batch learns it
            results = [exc] * len(batch)
        for waiting, result in zip(batch, results, strict=True):
            future = waiting.result
            if future.done():
                continue
            if isinstance(result, BaseException):
                future.set_exception(result)
            else:
                future.set_result(result)
