"""The result cache (`result_cache`) and the links in flight (`removal_flights`).

result_cache: `{_id: key, link, output_link, expires_at, job_id, task_id, stored_at}` —
one successful result per key (git44_common.result_cache), replaced by a newer one;
a TTL index drops it once it expires.

removal_flights: `{_id: key, job_id, started_at, expires_at}` — the job whose upstream
task the other jobs for the same key wait for. A failed attempt deletes it; a success
leaves it (the cache answers first from then on): a flight whose leader has ended —
succeeded, cancelled while waiting for a key, crashed — is replaced by the next job that
needs it. The TTL index drops the flights nobody replaces.
"""

from __future__ import annotations

from datetime import datetime, timedelta

from git44_common.collections import REMOVAL_FLIGHTS, RESULT_CACHE
from git44_common.mongo import Database, Document, is_duplicate_key_error

FLIGHT_BACKSTOP = timedelta(hours=6)


async def find_usable(db: Database, key: str, *, usable_after: datetime) -> Document | None:
    """The cached result for `key` if it expires after `usable_after`."""
    return await db[RESULT_CACHE].find_one({"_id": key, "expires_at": {"$gt": usable_after}})


async def remember(
    db: Database,
    key: str,
    *,
    link: str,
    output_link: str,
    expires_at: datetime,
    job_id: str,
    task_id: str | None,
    now: datetime,
) -> None:
    """Store (or replace) the result for `key`."""
    result: Document = {
        "link": link,
        "output_link": output_link,
        "expires_at": expires_at,
        "job_id": job_id,
        "task_id": task_id,
        "stored_at": now,
    }
    try:
        await db[RESULT_CACHE].replace_one({"_id": key}, result, upsert=True)
    except Exception as exc:  # two upserts of a new key at once: one insert wins
        if not is_duplicate_key_error(exc):
            raise
        await db[RESULT_CACHE].replace_one({"_id": key}, result)


async def lead_or_join(db: Database, key: str, *, job_id: str, now: datetime) -> str:
    """The id of the job leading the flight for `key`: `job_id` if there was none."""
    for _ in range(3):
        flight = {"_id": key, "job_id": job_id, "started_at": now}
        try:
            await db[REMOVAL_FLIGHTS].insert_one({**flight, "expires_at": now + FLIGHT_BACKSTOP})
            return job_id
        except Exception as exc:
            if not is_duplicate_key_error(exc):
                raise
        found = await db[REMOVAL_FLIGHTS].find_one({"_id": key})
        if found is not None:
            return str(found["job_id"])
    raise RuntimeError(f"the flight {key!r} kept changing")


async def replace_leader(
    db: Database, key: str, *, leader: str, job_id: str, now: datetime
) -> bool:
    """Make `job_id` lead the flight that `leader` led (gone without ending it)."""
    result = await db[REMOVAL_FLIGHTS].update_one(
        {"_id": key, "job_id": leader},
        {"$set": {"job_id": job_id, "started_at": now, "expires_at": now + FLIGHT_BACKSTOP}},
    )
    return result.modified_count == 1


async def end_flight(db: Database, key: str, *, job_id: str) -> None:
    """The flight `job_id` leads is over (the others look at the cache, or lead)."""
    await db[REMOVAL_FLIGHTS].delete_one({"_id": key, "job_id": job_id})


async def flight_leader(db: Database, key: str) -> str | None:
    found = await db[REMOVAL_FLIGHTS].find_one({"_id": key})
    return None if found is None else str(found["job_id"])
