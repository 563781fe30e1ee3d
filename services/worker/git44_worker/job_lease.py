"""The job lease heartbeat: a worker renews its hold on a job while it works on it.

A worker that dies stops renewing; once the job's `lease_expires_at` has passed another
worker may take the job over (`crud.jobs.take_over_expired_job`).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
from collections.abc import AsyncIterator

from git44_common.clock import utc_now
from git44_common.mongo import Database
from git44_common.tasks import stop_task
from git44_worker.crud import jobs as crud

log = logging.getLogger(__name__)


@contextlib.asynccontextmanager
async def job_lease_heartbeat(
    db: Database, job_id: str, *, worker_id: str, every: float, lease_seconds: float
) -> AsyncIterator[None]:
    """Renew our job lease every `every` seconds while the block runs."""

    async def beat() -> None:
        while True:
            await asyncio.sleep(every)
            try:
                await crud.renew_job_lease(
                    db, job_id, worker_id=worker_id, now=utc_now(), lease_seconds=lease_seconds
                )
            except Exception:
                log.warning(
                    "could not renew the job lease", extra={"job_id": job_id}, exc_info=True
                )

    task = asyncio.create_task(beat())
    try:
        yield
    finally:
        await stop_task(task)
