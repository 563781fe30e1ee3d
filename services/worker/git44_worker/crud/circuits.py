"""The worker's queries on `upstream_circuits` (git44_common.circuits): each change of
state is one compare-and-set, so with many workers exactly one opens, probes or closes
a circuit."""

from __future__ import annotations

from datetime import datetime, timedelta

from pymongo import ReturnDocument

from git44_common.circuits import CircuitState
from git44_common.collections import REMOVAL_JOBS, UPSTREAM_CIRCUITS
from git44_common.mongo import Database, Document, is_duplicate_key_error


async def read_all(db: Database) -> dict[str, Document]:
    return {str(doc["_id"]): doc async for doc in db[UPSTREAM_CIRCUITS].find()}


async def open_circuit(
    db: Database, name: str, *, reason: str, probe_seconds: float, now: datetime
) -> Document | None:
    """closed → open (the first probe after `probe_seconds`); the circuit, or None if
    another worker opened it first."""
    update = {
        "$set": {
            "state": str(CircuitState.OPEN),
            "opened_at": now,
            "reason": reason,
            "next_probe_at": now + timedelta(seconds=probe_seconds),
            "probe_seconds": probe_seconds,
            "probe_by": None,
            "probe_until": None,
            "updated_at": now,
        },
        "$inc": {"opened_count": 1},
    }
    try:
        return await db[UPSTREAM_CIRCUITS].find_one_and_update(
            {"_id": name, "state": {"$ne": str(CircuitState.OPEN)}},
            update,
            upsert=True,
            return_document=ReturnDocument.AFTER,
        )
    except Exception as exc:  # the upsert lost to a concurrent open (duplicate _id)
        if is_duplicate_key_error(exc):
            return None
        raise


async def claim_probe(
    db: Database, name: str, *, worker_id: str, until: datetime, now: datetime
) -> Document | None:
    """Take the circuit's probe if one is due and none is in flight."""
    return await db[UPSTREAM_CIRCUITS].find_one_and_update(
        {
            "_id": name,
            "state": str(CircuitState.OPEN),
            "next_probe_at": {"$lte": now},
            "$or": [{"probe_until": None}, {"probe_until": {"$lte": now}}],
        },
        {"$set": {"probe_by": worker_id, "probe_until": until, "updated_at": now}},
        return_document=ReturnDocument.AFTER,
    )


async def close_circuit(db: Database, name: str, *, worker_id: str, now: datetime) -> bool:
    """open → closed by the probe that got an answer."""
    result = await db[UPSTREAM_CIRCUITS].update_one(
        {"_id": name, "state": str(CircuitState.OPEN), "probe_by": worker_id},
        {
            "$set": {
                "state": str(CircuitState.CLOSED),
                "next_probe_at": None,
                "probe_by": None,
                "probe_until": None,
                "closed_at": now,
                "updated_at": now,
            }
        },
    )
    return result.modified_count == 1


async def probe_failed(
    db: Database, name: str, *, worker_id: str, next_seconds: float, now: datetime
) -> Document | None:
    """The probe failed: the next one after `next_seconds` (grown)."""
    return await db[UPSTREAM_CIRCUITS].find_one_and_update(
        {"_id": name, "state": str(CircuitState.OPEN), "probe_by": worker_id},
        {
            "$set": {
                "next_probe_at": now + timedelta(seconds=next_seconds),
                "probe_seconds": next_seconds,
                "probe_by": None,
                "probe_until": None,
                "updated_at": now,
            }
        },
        return_document=ReturnDocument.AFTER,
    )


async def release_probe(db: Database, name: str, *, worker_id: str, now: datetime) -> None:
    """Give the probe back unused (the call was not made, or said nothing of `name`)."""
    await db[UPSTREAM_CIRCUITS].update_one(
        {"_id": name, "probe_by": worker_id},
        {"$set": {"probe_by": None, "probe_until": None, "updated_at": now}},
    )


async def waiting_jobs(db: Database, name: str) -> list[Document]:
    """The queued jobs waiting for the circuit, oldest submission first."""
    cursor = (
        db[REMOVAL_JOBS]
        .find({"status": "queued", "circuit_wait": name}, {"user_id": 1, "retry_count": 1})
        .sort("created_at", 1)
    )
    return [doc async for doc in cursor]


async def wake(db: Database, job_ids: list[str], name: str, *, now: datetime) -> None:
    await db[REMOVAL_JOBS].update_many(
        {"_id": {"$in": job_ids}, "status": "queued", "circuit_wait": name},
        {"$set": {"next_attempt_at": now, "circuit_wait": None}},
    )
