"""Work that goes on in the background while a test does something else."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Awaitable, Callable
from contextlib import asynccontextmanager
from dataclasses import dataclass
from typing import Any


@dataclass
class Runs:
    count: int = 0


@asynccontextmanager
async def repeating(
    action: Callable[[], Awaitable[Any]], *, head_start: float = 0.05
) -> AsyncIterator[Runs]:
    """Run `action` back to back until the block ends (it has `head_start` seconds to get
    going first); `runs.count` says how often it ran."""
    runs = Runs()
    stop = asyncio.Event()

    async def loop() -> None:
        while not stop.is_set():
            await action()
            runs.count += 1
            await asyncio.sleep(0)

    task = asyncio.create_task(loop())
    await asyncio.sleep(head_start)
    try:
        yield runs
    finally:
        stop.set()
        await task
