"""The collections key-manager owns and their indexes (created idempotently at start-up)."""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import KEY_EVENTS, KEY_LEASES, SCRAPER_KEYS
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
    # The sweeper finds expired leases by `expires_at` and gives their slots back.
    IndexSpec(collection=KEY_LEASES, keys=[("expires_at", ASCENDING)], name="expires_at"),
    IndexSpec(collection=KEY_LEASES, keys=[("key_id", ASCENDING)], name="key_id"),
    # Backstop only, a day after expiry: a lease MongoDB deletes by TTL would not give
    # its slot back, so the sweeper (every few seconds) must get there first.
    ttl_index(KEY_LEASES, "purge_at"),
)
