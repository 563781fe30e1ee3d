"""PyMongo's condition wait under its lock: a caller cancelled just after the wait timed
out must not leave (git44_common.mongo_wait; CPython issue 86296 on Python 3.11)."""

from __future__ import annotations

import asyncio
import sys
from collections.abc import Awaitable, Callable
from typing import Any

import pymongo.asynchronous.pool
import pymongo.asynchronous.topology
import pytest
from pymongo.lock import _async_create_condition, _async_create_lock

from git44_common import mongo  # noqa: F401 - importing it installs the patch
from git44_common.mongo_wait import cond_wait

Wait = Callable[[Any, float | None], Awaitable[bool]]


def _original_wait() -> Wait:
    """PyMongo's own helper, as it is on this Python."""

    async def wait(condition: Any, timeout: float | None) -> bool:  # noqa: ASYNC109
        try:
            return await asyncio.wait_for(condition.wait(), timeout)
        except TimeoutError:
            return False

    return wait


async def _cancelled_while_the_lock_is_taken(wait: Wait) -> tuple[bool, bool, bool]:
    """A server selection waits on the condition; its wait times out while another task
    (the monitor) holds the lock, and its caller is cancelled then. Returns: was the
    selection still waiting to take the lock back, did the other task's hold survive,
    is the lock free once everyone is done."""
    lock = _async_create_lock()
    condition = _async_create_condition(lock)

    async def select_server() -> None:
        async with lock:
            await wait(condition, 0.05)

    selection = asyncio.create_task(select_server())
    await asyncio.sleep(0.01)  # waiting on the condition: the lock is free
    await lock.acquire()  # the monitor takes it
    await asyncio.sleep(0.1)  # the wait timed out and wants the lock back
    selection.cancel()  # the caller's own deadline
    await asyncio.sleep(0.05)
    still_waiting, hold_kept = not selection.done(), lock.locked()
    lock.release()
    await asyncio.gather(selection, return_exceptions=True)
    await asyncio.sleep(0.01)
    return still_waiting, hold_kept, not lock.locked()


async def test_a_cancelled_selection_takes_the_lock_back_before_it_leaves() -> None:
    assert await _cancelled_while_the_lock_is_taken(cond_wait) == (True, True, True)


async def test_the_patched_helper_is_what_pymongo_calls() -> None:
    if sys.version_info >= (3, 12):
        pytest.skip("wait_for is safe from 3.12 on: nothing is patched")
    assert pymongo.asynchronous.topology._async_cond_wait is cond_wait
    assert pymongo.asynchronous.pool._async_cond_wait is cond_wait


async def test_without_the_patch_python_3_11_loses_the_lock() -> None:
    """Why the patch exists: this is what PyMongo's helper does on 3.11."""
    if sys.version_info >= (3, 12):
        pytest.skip("fixed in CPython 3.12")
    still_waiting, _, _ = await _cancelled_while_the_lock_is_taken(_original_wait())
    # It left while the monitor held the lock: its `async with` released the monitor's
    # hold, and the inner wait took the lock afterwards for a task that no longer exists.
    # With the monitor's release coming first (as in the soak), nobody ever frees it.
    assert not still_waiting


async def test_the_wait_still_times_out_and_wakes() -> None:
    lock = _async_create_lock()
    condition = _async_create_condition(lock)
    async with lock:
        assert await cond_wait(condition, 0.02) is False
        assert lock.locked()

    async def notify() -> None:
        async with lock:
            condition.notify_all()

    async with lock:
        waker = asyncio.get_running_loop().call_later(0.01, asyncio.ensure_future, notify())
        assert await cond_wait(condition, 5) is True
        waker.cancel()
