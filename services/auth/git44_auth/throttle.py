"""Login throttling per client IP and per account, in fixed windows shared by replicas.

Every attempt counts against both limits before the password is checked (so parallel
guesses cannot slip past the limit); a successful login clears its account's counter.
Accounts are counted under a hash of the email, so the counters hold no addresses.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import UTC, datetime, timedelta

from git44_auth.crud.login_attempts import clear_attempts, count_attempt
from git44_common.exceptions import RateLimited
from git44_common.mongo import Database


@dataclass(frozen=True)
class Window:
    index: int
    ends_at: datetime


def current_window(now: datetime, *, seconds: int) -> Window:
    """The fixed window `now` falls in."""
    index = int(now.timestamp()) // seconds
    return Window(index=index, ends_at=datetime.fromtimestamp((index + 1) * seconds, UTC))


def account_subject(email: str) -> str:
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:40]


class LoginThrottle:
    def __init__(
        self, db: Database, *, ip_limit: int, account_limit: int, window_seconds: int
    ) -> None:
        self._db = db
        self._ip_limit = ip_limit
        self._account_limit = account_limit
        self._window_seconds = window_seconds

    async def count_attempt(self, *, ip: str, email: str, now: datetime) -> None:
        """Count one attempt; RateLimited (429, Retry-After) when either limit is exceeded."""
        window = current_window(now, seconds=self._window_seconds)
        await self._count(f"ip:{ip}", self._ip_limit, window, now)
        await self._count(account_subject(email), self._account_limit, window, now)

    async def forget_account(self, *, email: str, now: datetime) -> None:
        window = current_window(now, seconds=self._window_seconds)
        await clear_attempts(self._db, f"{account_subject(email)}:{window.index}")

    async def _count(self, subject: str, limit: int, window: Window, now: datetime) -> None:
        count = await count_attempt(
            self._db,
            counter_id=f"{subject}:{window.index}",
            expires_at=window.ends_at + timedelta(seconds=60),
        )
        if count > limit:
            retry_after = (window.ends_at - now).total_seconds()
            raise RateLimited("Too many login attempts; try again later.", retry_after=retry_after)
