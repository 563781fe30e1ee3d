"""The periodic housekeeping every replica runs: expired leases give their slots back,
slots no lease holds are recounted, expired cooldowns end, an exhausted pool enters
cooldown, the state gauge is refreshed. Every step is atomic per document, so replicas
running it at once do no harm."""

from __future__ import annotations

import asyncio
import logging

from git44_keys.lifecycle import KeyLifecycle
from git44_keys.pool import KeyPool

log = logging.getLogger(__name__)


async def run_maintenance_once(pool: KeyPool, lifecycle: KeyLifecycle) -> None:
    await pool.sweep_expired_leases()
    await pool.recount_leaked_slots()
    await lifecycle.end_expired_cooldowns()
    await lifecycle.cool_down_if_exhausted()  # also refreshes git44_keys_by_state


async def run_maintenance(pool: KeyPool, lifecycle: KeyLifecycle, *, interval: float) -> None:
    """Forever, every `interval` seconds; a failed round is logged and retried."""
    while True:
        try:
            await run_maintenance_once(pool, lifecycle)
        except Exception:
            log.exception("key maintenance failed; retrying in %.1fs", interval)
        await asyncio.sleep(interval)
