"""MongoDB access shared by the services: PyMongo's async client and index creation.

PyMongo's `AsyncMongoClient` is used, not Motor (docs/adr/0001).
"""

from __future__ import annotations

from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from typing import Any

from pymongo import AsyncMongoClient, ReturnDocument
from pymongo.asynchronous.collection import AsyncCollection
from pymongo.asynchronous.database import AsyncDatabase
from pymongo.errors import BulkWriteError, DuplicateKeyError, OperationFailure

from git44_common import mongo_wait

mongo_wait.patch()  # before any client exists: PyMongo's lock-safe waits on Python 3.11

Document = dict[str, Any]
MongoClient = AsyncMongoClient[Document]
Database = AsyncDatabase[Document]

# No operation waits forever for a reply: a server that restarted can leave a connection
# open but silent, and a worker stuck on it would hold its job's lease indefinitely.
# Generous, since the embedded server queues transactions under load.
SOCKET_TIMEOUT_MS = 30_000

# An acknowledged write is one that survives a crash: on a majority of the replica set
# and in their journals (what MongoDB's implicit default gives a replica set, stated
# here so that no server-wide default can weaken it). A URL naming `w`, `journal` or
# `wTimeoutMS` sets the write concern itself.
DURABLE_WRITES: Mapping[str, Any] = {"w": "majority", "journal": True}
_WRITE_CONCERN_OPTIONS = frozenset({"w", "journal", "wtimeoutms"})

# Codes MongoDB answers when an index of that name or those keys exists with other options.
_INDEX_CONFLICT_CODES = frozenset({85, 86})


def write_concern_for(url: str) -> Mapping[str, Any]:
    """`DURABLE_WRITES`, unless `url` sets a write concern option of its own."""
    query = url.partition("?")[2]
    named = {option.partition("=")[0].lower() for option in query.split("&") if option}
    return {} if named & _WRITE_CONCERN_OPTIONS else DURABLE_WRITES


@dataclass(frozen=True, kw_only=True)
class IndexSpec:
    """One index a service owns, created at start-up (idempotent)."""

    collection: str
    keys: Sequence[tuple[str, int]]
    name: str
    unique: bool = False
    expire_after_seconds: int | None = None
    partial_filter: Mapping[str, Any] | None = None
    options: Mapping[str, Any] = field(default_factory=dict)

    def create_kwargs(self) -> dict[str, Any]:
        kwargs: dict[str, Any] = {"name": self.name, "unique": self.unique, **self.options}
        if self.expire_after_seconds is not None:
            kwargs["expireAfterSeconds"] = self.expire_after_seconds
        if self.partial_filter is not None:
            kwargs["partialFilterExpression"] = dict(self.partial_filter)
        return kwargs


def ttl_index(collection: str, field: str = "expires_at", *, after_seconds: int = 0) -> IndexSpec:
    """The index that removes a document `after_seconds` past the time in its `field`."""
    name = field.removesuffix("_at") + "_ttl"
    return IndexSpec(
        collection=collection, keys=[(field, 1)], name=name, expire_after_seconds=after_seconds
    )


def create_mongo_client(
    url: str, *, app_name: str, timeout_ms: int = 5000, tz_aware: bool = True
) -> MongoClient:
    """A client for `url`; it connects lazily, so creating it never blocks."""
    return AsyncMongoClient(
        url,
        **write_concern_for(url),
        appname=app_name,
        tz_aware=tz_aware,
        serverSelectionTimeoutMS=timeout_ms,
        connectTimeoutMS=timeout_ms,
        socketTimeoutMS=SOCKET_TIMEOUT_MS,
        uuidRepresentation="standard",
    )


async def ping_mongo(client: MongoClient) -> None:
    """Raise if the server does not answer a ping."""
    await client.admin.command("ping")


async def ensure_indexes(db: Database, specs: Iterable[IndexSpec]) -> None:
    """Create every index in `specs`; an index whose options changed is rebuilt."""
    for spec in specs:
        collection = db[spec.collection]
        try:
            await collection.create_index(list(spec.keys), **spec.create_kwargs())
        except OperationFailure as exc:
            if exc.code not in _INDEX_CONFLICT_CODES:
                raise
            await collection.drop_index(spec.name)
            await collection.create_index(list(spec.keys), **spec.create_kwargs())


def is_duplicate_key_error(exc: BaseException) -> bool:
    """True when `exc` is a unique-index violation (of a single write or of a batch)."""
    if isinstance(exc, DuplicateKeyError):
        return True
    if isinstance(exc, BulkWriteError):
        errors = exc.details.get("writeErrors") or []
        return bool(errors) and all(error.get("code") == 11000 for error in errors)
    return isinstance(exc, OperationFailure) and exc.code == 11000


async def increment_counter(
    collection: AsyncCollection[Document],
    counter_id: str,
    *,
    expires_at: datetime,
    amount: int = 1,
) -> int:
    """Add `amount` to the counter document `counter_id` (created with `expires_at` for a
    TTL index on its window's first hit); its new value. Atomic across replicas.

    The increment is never an upsert: concurrent first upserts of one `_id` can both
    answer as if each had created the document (seen on SecantusDB: two callers told
    `1`), so a missing counter is created at 0 first (a lost race to create it is fine)
    and every increment is a plain atomic `$inc` on an existing document."""
    for _ in range(3):
        doc = await collection.find_one_and_update(
            {"_id": counter_id},
            {"$inc": {"count": amount}},
            return_document=ReturnDocument.AFTER,
        )
        if doc is not None:
            return int(doc["count"])
        try:
            await collection.insert_one({"_id": counter_id, "count": 0, "expires_at": expires_at})
        except OperationFailure as exc:  # a lost race to create it is fine: increment it
            if not is_duplicate_key_error(exc):
                raise
    raise RuntimeError(f"counter {counter_id} kept colliding")
