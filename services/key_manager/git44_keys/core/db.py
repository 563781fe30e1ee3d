"""The collections key-manager owns and their indexes (created idempotently at start-up)."""

from pymongo import ASCENDING, DESCENDING

from git44_common.mongo import IndexSpec

SCRAPER_KEYS = "scraper_api_keys"
KEY_EVENTS = "key_events"

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
    IndexSpec(
        collection=KEY_EVENTS, keys=[("key_id", ASCENDING), ("at", DESCENDING)], name="key_at"
    ),
    IndexSpec(collection=KEY_EVENTS, keys=[("at", DESCENDING)], name="at"),
)
