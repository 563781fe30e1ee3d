"""The periodic work every replica runs besides its heartbeat: its own expired leases
end, expired cooldowns end, an exhausted pool enters cooldown, the state gauge is
refreshed. Every state change is atomic per document, so replicas running it at once do
no harm."""

from __future__ import annotations

import asyncio
import logging

from git44_keys.lifecycle import KeyLifecycle
from git44_keys.pool import KeyPool

log = logging.getLogger(__name__)


async def run_maintenance_once(pool: KeyPool, lifecycle: KeyLifecycle) -> None:
    pool.expire_leases()
    if await lifecycle.end_expired_cooldowns():
        await pool.refresh_keys()
    # also refreshes git44_keys_by_state
    if await lifecycle.cool_down_if_exhausted() is not None:
        await pool.refresh_keys()


async def run_maintenance(pool: KeyPool, lifecycle: KeyLifecycle, *, interval: float) -> None:
    """Forever, every `interval` seconds; a failed round is logged and retried."""
    while True:
        try:
            await run_maintenance_once(pool, lifecycle)
        except Exception:
            log.exception("key maintenance failed; retrying in %.1fs", interval)
        await asyncio.sleep(interval)
