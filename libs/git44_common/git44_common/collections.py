"""Every MongoDB collection name, spelled once (docs/architecture.md says who owns which).

A service's database modules import the names they own from here; no other code
spells a collection's name.
"""

from typing import Final

# auth
USERS: Final = "users"
REFRESH_TOKENS: Final = "refresh_tokens"
# read by every service: ended sessions are refused everywhere (git44_common.sessions)
SESSIONS: Final = "sessions"
API_KEYS: Final = "api_keys"
LOGIN_ATTEMPTS: Final = "login_attempts"
MAIL_OUTBOX: Final = "mail_outbox"
ACCOUNT_TOKENS: Final = "account_tokens"
# jobs-api (the worker advances jobs and refunds quotas through git44_common.jobs)
REMOVAL_JOBS: Final = "removal_jobs"
USER_QUOTAS: Final = "user_quotas"
IDEMPOTENCY_KEYS: Final = "idempotency_keys"
API_RATE_LIMITS: Final = "api_rate_limits"
WEBHOOK_SECRETS: Final = "webhook_secrets"
# jobs-api (writes endpoints); the worker reads them and keeps their failure state
WEBHOOK_ENDPOINTS: Final = "webhook_endpoints"
SSE_STREAMS: Final = "sse_streams"
# jobs-api: messages taken over from `git44.removal.dead` until replayed or purged
DEAD_LETTERS: Final = "dead_letters"
# worker
WEBHOOK_DELIVERIES: Final = "webhook_deliveries"
# worker (writes; jobs-api reads at submission and purges): git44_common.result_cache
RESULT_CACHE: Final = "result_cache"
REMOVAL_FLIGHTS: Final = "removal_flights"
# worker (writes; key-manager reads it for its admin summary): git44_common.circuits
UPSTREAM_CIRCUITS: Final = "upstream_circuits"
# key-manager
SCRAPER_KEYS: Final = "scraper_api_keys"
KEY_EVENTS: Final = "key_events"
# one document per key-manager replica: heartbeat, claims and leases in flight (ADR 0010)
KEY_REPLICAS: Final = "key_manager_replicas"
# before ADR 0010: one document per lease; no longer written (an operator may drop it)
KEY_LEASES: Final = "key_leases"
# every service's admin actions
AUDIT_LOG: Final = "audit_log"
