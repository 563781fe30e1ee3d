"""The collections auth owns and their indexes (created idempotently at start-up)."""

from pymongo import ASCENDING, DESCENDING

from git44_common.collections import (
    ACCOUNT_TOKENS,
    API_KEYS,
    AUDIT_LOG,
    LOGIN_ATTEMPTS,
    MAIL_OUTBOX,
    REFRESH_TOKENS,
    SESSIONS,
    USERS,
)
from git44_common.mongo import IndexSpec, ttl_index

INDEXES = (
    IndexSpec(collection=USERS, keys=[("email", ASCENDING)], name="email_unique", unique=True),
    IndexSpec(
        collection=USERS, keys=[("created_at", DESCENDING), ("_id", DESCENDING)], name="created_at"
    ),
    IndexSpec(collection=REFRESH_TOKENS, keys=[("jti", ASCENDING)], name="jti_unique", unique=True),
    IndexSpec(collection=REFRESH_TOKENS, keys=[("family_id", ASCENDING)], name="family"),
    IndexSpec(collection=REFRESH_TOKENS, keys=[("user_id", ASCENDING)], name="user"),
    ttl_index(REFRESH_TOKENS),
    IndexSpec(collection=SESSIONS, keys=[("user_id", ASCENDING)], name="user"),
    # every service reads the sessions ended lately (git44_common.sessions)
    IndexSpec(collection=SESSIONS, keys=[("ended_at", ASCENDING)], name="ended_at"),
    ttl_index(SESSIONS),
    IndexSpec(
        collection=API_KEYS, keys=[("key_hash", ASCENDING)], name="key_hash_unique", unique=True
    ),
    IndexSpec(
        collection=API_KEYS,
        keys=[("user_id", ASCENDING), ("created_at", DESCENDING)],
        name="user_created",
    ),
    ttl_index(LOGIN_ATTEMPTS),
    IndexSpec(collection=MAIL_OUTBOX, keys=[("relay_after", ASCENDING)], name="relay_after"),
    ttl_index(ACCOUNT_TOKENS),
    IndexSpec(
        collection=ACCOUNT_TOKENS,
        keys=[("user_id", ASCENDING), ("purpose", ASCENDING)],
        name="user_purpose",
    ),
    # `audit_log` is shared with other services' admin actions; auth adds its own index.
    IndexSpec(
        collection=AUDIT_LOG,
        keys=[("target", ASCENDING), ("at", DESCENDING)],
        name="auth_target_at",
    ),
)
