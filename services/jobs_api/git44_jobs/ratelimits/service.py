"""jobs-api's rate limits, shared by every replica (docs/api.md lists them):

| limit | counted per | setting |
|---|---|---|
| requests | API key | JOBS_API_KEY_RATE_LIMIT per JOBS_API_KEY_RATE_WINDOW_SECONDS |
| requests (SPA and Dev API) | user | JOBS_USER_REQUESTS_PER_MINUTE |
| submissions (a batch counts its items) | user | JOBS_USER_SUBMISSIONS_PER_MINUTE |
| submissions | whole service | JOBS_GLOBAL_SUBMISSIONS_PER_MINUTE |

A request is counted when its caller is authenticated, a submission before its quota
check (a submission refused for quota still counts); a count refused by the narrower
limit is not counted by the wider one. Counters are documents in
`api_rate_limits` per subject and window (`counters.py`: each replica reserves units in
chunks and spends them locally, so a busy limit costs few writes); over a
limit the request is refused with 429 `rate_limited` (git44_common.ratelimit), and
every limited response carries the RateLimit headers of the limit closest to
exhaustion.
"""

from __future__ import annotations

from datetime import datetime

from git44_common.clock import Clock
from git44_common.mongo import Database
from git44_common.ratelimit import Limit, Usage, enforce
from git44_common.security import Principal
from git44_jobs.core.config import JobsSettings
from git44_jobs.ratelimits.counters import SharedCounters

MINUTE = 60


class RateLimiter:
    """Counts a caller's requests and submissions; RateLimited (429) past a limit."""

    def __init__(self, db: Database, settings: JobsSettings, clock: Clock) -> None:
        self._counters = SharedCounters(db, clock)
        self._clock = clock
        self.user_requests = Limit("user-requests", settings.user_requests_per_minute, MINUTE)
        self.user_submissions = Limit(
            "user-submissions", settings.user_submissions_per_minute, MINUTE
        )
        self.global_submissions = Limit(
            "submissions", settings.global_submissions_per_minute, MINUTE
        )
        self.api_key_requests = Limit(
            "api-key-requests", settings.api_key_rate_limit, settings.api_key_rate_window_seconds
        )

    async def count_request(self, caller: Principal) -> list[Usage]:
        """One request of `caller`: per API key for the Dev API, then per user."""
        counted: list[tuple[Limit, str, int]] = []
        if caller.api_key_id is not None:
            counted.append((self.api_key_requests, caller.api_key_id, 1))
        counted.append((self.user_requests, caller.user_id, 1))
        return await self._count_in_turn(counted, what="requests")

    async def count_submissions(self, user_id: str, count: int = 1) -> list[Usage]:
        """`count` submissions of the user, then of the whole service."""
        counted = [
            (self.user_submissions, user_id, count),
            (self.global_submissions, "all", count),
        ]
        return await self._count_in_turn(counted, what="submissions")

    async def _count_in_turn(
        self, counted: list[tuple[Limit, str, int]], *, what: str
    ) -> list[Usage]:
        """Count against each limit in turn, the narrowest first: an attempt refused by
        one is not counted by the next (one user's flood does not use up the service's
        budget)."""
        now = self._clock()
        usages: list[Usage] = []
        for limit, subject, amount in counted:
            usages.append(await self._count(limit, subject, now, amount=amount))
            enforce(usages, what=what)
        return usages

    async def _count(self, limit: Limit, subject: str, now: datetime, *, amount: int = 1) -> Usage:
        _, ends = limit.window(now)
        used = await self._counters.hit(
            limit.counter_id(subject, now), amount, quota=limit.quota, expires_at=ends
        )
        return limit.usage(used, now)
