"""Background tasks: running one in rounds, and stopping it for good."""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable
from typing import Any

log = logging.getLogger(__name__)


async def run_every(interval: float, round_: Callable[[], Awaitable[object]], *, what: str) -> None:
    """Await `round_()` every `interval` seconds until cancelled (a lifespan task, e.g.
    an outbox relay). A round that fails is logged as "`what` round failed" and the
    next one comes on time; an error that is really our own cancellation ends it."""
    while True:
        try:
            await round_()
        except asyncio.CancelledError:
            raise
        except Exception:
            if (task := asyncio.current_task()) is not None and task.cancelling():
                raise asyncio.CancelledError from None  # the error was our own cancel
            log.warning("%s round failed", what, exc_info=True)
        await asyncio.sleep(interval)


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
