"""Auth's business metrics (HTTP metrics come from git44_common)."""

from prometheus_client import Counter

REGISTRATIONS = Counter("git44_auth_registrations_total", "Accounts registered.")
LOGINS = Counter(
    "git44_auth_logins_total",
    "Login attempts by outcome (success, invalid_credentials, disabled, rate_limited).",
    ["outcome"],
)
REFRESHES = Counter("git44_auth_refreshes_total", "Refresh tokens rotated successfully.")
REFRESH_REUSE = Counter(
    "git44_auth_refresh_reuse_total",
    "Already-rotated refresh tokens presented again (the token family is revoked).",
)
MAILS = Counter(
    "git44_auth_mails_total",
    "Mails by kind and outcome: queued (saved by a request), sent, retrying, dead.",
    ["kind", "outcome"],
)
