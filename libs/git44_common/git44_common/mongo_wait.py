"""PyMongo's async waits on a condition, made safe on Python 3.11.

PyMongo (4.x) waits for server selection and for a pool connection with
`asyncio.wait_for(condition.wait(), timeout)` under the topology's (or pool's) lock. On
Python 3.11, `wait_for` can give up on its inner task and let the caller's cancellation
out while that task still runs (CPython issue 86296, fixed in 3.12 by rewriting
`wait_for` over `asyncio.timeout`, not backported). The inner `Condition.wait` then takes
the lock back after its caller has left `async with lock`: the lock stays taken and
every later query of that client waits for it forever. The soak found it: a database
restart while a worker's job-lease heartbeat was cancelled left both workers unable to
reach MongoDB at all, for good (docs/reliability.md, "Soak").

`patch()` swaps PyMongo's helper for the same wait in the caller's own task under
`asyncio.timeout`, where cancellation cannot leave the lock behind. It does nothing on
3.12 and later, and refuses a PyMongo whose helper it does not know.
"""

from __future__ import annotations

import asyncio
import importlib
import sys
from typing import Any

# The modules that imported the helper by name (`from pymongo.lock import ...`).
_USERS = ("pymongo.lock", "pymongo.asynchronous.topology", "pymongo.asynchronous.pool")
_HELPER = "_async_cond_wait"


async def cond_wait(condition: Any, timeout: float | None) -> bool:  # noqa: ASYNC109 - PyMongo calls it so
    """Wait on `condition` (its lock held) for up to `timeout` s; False when it timed out.

    The same contract as PyMongo's helper; on cancellation the lock is held again before
    CancelledError leaves, as `Condition.wait` promises.
    """
    try:
        async with asyncio.timeout(timeout):
            result: bool = await condition.wait()
            return result
    except TimeoutError:
        return False


def patch() -> None:
    """Install `cond_wait` in PyMongo (Python < 3.12 only; idempotent)."""
    if sys.version_info >= (3, 12):
        return
    for name in _USERS:
        module = importlib.import_module(name)
        if not hasattr(module, _HELPER):
            raise RuntimeError(f"{name}.{_HELPER} is gone: check git44_common.mongo_wait")
        setattr(module, _HELPER, cond_wait)
