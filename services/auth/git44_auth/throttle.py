"""Auth's rate limits, in fixed windows shared by replicas (git44_common.ratelimit):

| limit | counted per | setting |
|---|---|---|
| login attempts | client IP | AUTH_LOGIN_IP_LIMIT per AUTH_LOGIN_WINDOW_SECONDS |
| login attempts | account | AUTH_LOGIN_ACCOUNT_LIMIT per AUTH_LOGIN_WINDOW_SECONDS |
| registrations | client IP | AUTH_REGISTER_PER_IP_PER_HOUR |
| registrations | whole service | AUTH_REGISTER_GLOBAL_PER_HOUR |
| password changes | user | AUTH_PASSWORD_CHANGE_PER_USER per 15 minutes |
| password reset requests | email (known or not) | AUTH_PASSWORD_FORGOT_PER_EMAIL_PER_HOUR |
| password reset requests | client IP | AUTH_PASSWORD_FORGOT_PER_IP_PER_HOUR |
| verification mails sent again | user | 5 per hour |

Every login attempt counts against both login limits before the password is checked
(so parallel guesses cannot slip past the limit); a successful login clears its
account's counter and gives its IP's count back, so a busy proxy or office is not
locked out by its own users. Accounts are counted under a hash of the email, so the
counters hold no addresses. Reset requests count every address alike, registered or
not: a refusal would otherwise tell which addresses have accounts.
"""

from __future__ import annotations

import hashlib
from dataclasses import dataclass
from datetime import datetime

from git44_auth.core.config import AuthSettings
from git44_auth.crud import rate_limits
from git44_auth.metrics import LOGINS
from git44_common.exceptions import RateLimited
from git44_common.mongo import Database
from git44_common.ratelimit import Limit, Usage, enforce

HOUR = 3600
PASSWORD_CHANGE_WINDOW_SECONDS = 15 * 60
VERIFICATION_RESENDS_PER_HOUR = 5


def account_subject(email: str) -> str:
    return "account:" + hashlib.sha256(email.encode()).hexdigest()[:40]


@dataclass(frozen=True, kw_only=True)
class AuthLimits:
    login_ip: Limit
    login_account: Limit
    register_ip: Limit
    register_global: Limit
    password_change: Limit
    forgot_email: Limit
    forgot_ip: Limit
    verification_resend: Limit

    @classmethod
    def from_settings(cls, settings: AuthSettings) -> AuthLimits:
        login_window = settings.login_window_seconds
        return cls(
            login_ip=Limit("login-ip", settings.login_ip_limit, login_window),
            login_account=Limit("login-account", settings.login_account_limit, login_window),
            register_ip=Limit("register-ip", settings.register_per_ip_per_hour, HOUR),
            register_global=Limit("registrations", settings.register_global_per_hour, HOUR),
            password_change=Limit(
                "password-change",
                settings.password_change_per_user,
                PASSWORD_CHANGE_WINDOW_SECONDS,
            ),
            forgot_email=Limit("forgot-email", settings.password_forgot_per_email_per_hour, HOUR),
            forgot_ip=Limit("forgot-ip", settings.password_forgot_per_ip_per_hour, HOUR),
            verification_resend=Limit("verify-resend", VERIFICATION_RESENDS_PER_HOUR, HOUR),
        )


class Throttle:
    """Counts attempts; RateLimited (429, Retry-After, RateLimit headers) past a limit."""

    def __init__(self, db: Database, limits: AuthLimits) -> None:
        self._db = db
        self._limits = limits

    async def count_login(self, *, ip: str, email: str, now: datetime) -> list[Usage]:
        limits = self._limits
        subject = account_subject(email.strip().lower())
        try:
            return await self._count(
                [(limits.login_ip, ip), (limits.login_account, subject)],
                now,
                what="login attempts",
            )
        except RateLimited:
            LOGINS.labels("rate_limited").inc()
            raise

    async def login_succeeded(self, *, ip: str, email: str, now: datetime) -> None:
        """The account's counter cleared, the attempt given back to the IP."""
        limits = self._limits
        await rate_limits.clear(
            self._db, limits.login_account.counter_id(account_subject(email), now)
        )
        await rate_limits.give_back(self._db, limits.login_ip.counter_id(ip, now))

    async def count_registration(self, *, ip: str, now: datetime) -> list[Usage]:
        limits = self._limits
        return await self._count(
            [(limits.register_ip, ip), (limits.register_global, "all")], now, what="registrations"
        )

    async def count_password_change(self, *, user_id: str, now: datetime) -> list[Usage]:
        return await self._count(
            [(self._limits.password_change, user_id)], now, what="password change attempts"
        )

    async def count_password_forgot(self, *, ip: str, email: str, now: datetime) -> list[Usage]:
        limits = self._limits
        subject = account_subject(email.strip().lower())
        return await self._count(
            [(limits.forgot_email, subject), (limits.forgot_ip, ip)],
            now,
            what="password reset requests",
        )

    async def count_verification_resend(self, *, user_id: str, now: datetime) -> list[Usage]:
        return await self._count(
            [(self._limits.verification_resend, user_id)], now, what="verification mails"
        )

    async def _count(
        self, subjects: list[tuple[Limit, str]], now: datetime, *, what: str
    ) -> list[Usage]:
        """Count against each limit in turn, the narrowest first: an attempt refused by
        one is not counted by the next (one address's flood does not use up the whole
        service's registrations)."""
        usages: list[Usage] = []
        for limit, subject in subjects:
            _, ends = limit.window(now)
            counter_id = limit.counter_id(subject, now)
            used = await rate_limits.count(self._db, counter_id, expires_at=ends)
            usages.append(limit.usage(used, now))
            enforce(usages, what=what)
        return usages
