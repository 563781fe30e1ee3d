"""Queries on `key_manager_replicas`: one document per key-manager replica (ADR 0010) — its
heartbeat, its claim on each key's concurrency and its leases in flight per key. The
leases themselves live in the replica's memory (`git44_keys.leases`).

    {_id: replica id, kind: "replica", started_at, heartbeat_at,
     expires_at (live until then), forget_at (its claims count until then),
     claims: {key id: slots}, in_flight: {key id: leases}, purge_at (TTL backstop)}
"""

from __future__ import annotations

from collections.abc import Mapping
from datetime import datetime, timedelta

from git44_common.collections import KEY_REPLICAS
from git44_common.mongo import Database, Document

KIND = "replica"
# Backstop only: replicas delete the registrations they have forgotten; the TTL index
# drops one nobody was left to delete (every replica stopped) a day later.
PURGE_AFTER = timedelta(days=1)


async def save_registration(
    db: Database,
    replica_id: str,
    *,
    started_at: datetime,
    now: datetime,
    expires_at: datetime,
    forget_at: datetime,
    claims: Mapping[str, int],
    in_flight: Mapping[str, int],
) -> None:
    """Write (or re-create) the replica's registration: one write per heartbeat."""
    await db[KEY_REPLICAS].update_one(
        {"_id": replica_id},
        {
            "$set": {
                "kind": KIND,
                "started_at": started_at,
                "heartbeat_at": now,
                "expires_at": expires_at,
                "forget_at": forget_at,
                "claims": dict(claims),
                "in_flight": dict(in_flight),
                "purge_at": forget_at + PURGE_AFTER,
            }
        },
        upsert=True,
    )


async def list_registrations(db: Database) -> list[Document]:
    """Every replica's registration (a handful of documents)."""
    return await db[KEY_REPLICAS].find({"kind": KIND}).to_list()


async def delete_registrations(
    db: Database, replica_ids: list[str], *, forgotten_before: datetime
) -> None:
    """Drop registrations forgotten before `forgotten_before` (one renewed meanwhile stays)."""
    await db[KEY_REPLICAS].delete_many(
        {"_id": {"$in": replica_ids}, "kind": KIND, "forget_at": {"$lt": forgotten_before}}
    )


async def delete_registration(db: Database, replica_id: str) -> None:
    await db[KEY_REPLICAS].delete_one({"_id": replica_id, "kind": KIND})
