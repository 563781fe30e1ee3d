"""The collections key-manager owns and their indexes (created idempotently at start-up)."""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import KEY_EVENTS, KEY_REPLICAS, SCRAPER_KEYS
from git44_common.mongo import IndexSpec, ttl_index

INDEXES = (
    IndexSpec(
        collection=SCRAPER_KEYS,
        keys=[("key_fingerprint", ASCENDING)],
        name="fingerprint_unique",
        unique=True,
    ),
    IndexSpec(
        collection=SCRAPER_KEYS,
        keys=[("status", ASCENDING), ("in_flight", ASCENDING), ("last_used", ASCENDING)],
        name="status_load",
    ),
    IndexSpec(collection=SCRAPER_KEYS, keys=[("created_at", ASCENDING)], name="created_at"),
    IndexSpec(
        collection=KEY_EVENTS, keys=[("key_id", ASCENDING), ("at", DESCENDING)], name="key_at"
    ),
    IndexSpec(collection=KEY_EVENTS, keys=[("at", DESCENDING)], name="at"),
    # `key_manager_replicas` holds one registration per replica (ADR 0010), read whole
    # by every heartbeat: no index but this backstop, a day after a registration was
    # forgotten (replicas delete the ones they forget).
    ttl_index(KEY_REPLICAS, "purge_at"),
)
