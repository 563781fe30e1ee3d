"""Stopping background tasks for good."""

from __future__ import annotations

import asyncio
from typing import Any


async def stop_task(task: asyncio.Task[Any], *, every: float = 1.0) -> None:
    """Cancel `task` and wait until it has ended, cancelling it again every `every`
    seconds: a library that turns the CancelledError into another exception (a pymongo
    operation cancelled mid-read did, and the outbox relay's `except Exception` then
    carried on looping) must not keep a shutdown waiting forever. What the task raised
    is dropped: it is being stopped."""
    while not task.done():
        task.cancel()
        await asyncio.wait([task], timeout=every)
    if not task.cancelled():
        task.exception()  # retrieved, so asyncio does not log it as never retrieved
