"""The result cache and single-flight rules, shared by jobs-api and the worker (pure).

A Sora share link is public and canonical (`https://sora.chatgpt.com/p/<id>`), so its
clean video is the same for everyone: a successful result is remembered under the
link (`result_cache`, written by the worker) for as long as its download link works,
and a new job for that link completes from it with no upstream call — at submission
(jobs-api) or when a worker picks the job up. Jobs for a link whose task is still
running share it (`removal_flights`: one leading job per link; the others wait and
complete from the cache, or try on their own if the leader fails).

How long a result is usable: the download link's own expiry where it carries one (a
signed URL's `expires`, S3's `X-Amz-Date` + `X-Amz-Expires`, Google's
`X-Goog-Date` + `X-Goog-Expires`, Azure's `se`), otherwise `JOBS_RESULT_CACHE_TTL_SECONDS`
after it was stored; a result is handed out only while at least
`JOBS_RESULT_CACHE_MIN_VALIDITY_SECONDS` of that are left. `JOBS_RESULT_CACHE_SCOPE`:
`shared` (default), `user` (each user's own results and flights) or `off`.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import UTC, datetime, timedelta
from enum import StrEnum
from urllib.parse import parse_qsl, urlsplit

from pydantic import Field

from git44_common.settings import ServiceSettings


class CacheScope(StrEnum):
    SHARED = "shared"
    USER = "user"
    OFF = "off"


@dataclass(frozen=True, kw_only=True)
class ResultCachePolicy:
    scope: CacheScope
    ttl: timedelta
    min_validity: timedelta

    @property
    def enabled(self) -> bool:
        return self.scope is not CacheScope.OFF

    def key(self, link: str, user_id: str) -> str:
        """The cache and flight key of a job for the canonical `link` by `user_id`."""
        if self.scope is CacheScope.USER:
            return f"user:{user_id}:{link}"
        return f"shared:{link}"

    def usable_after(self, now: datetime) -> datetime:
        """A result is handed out at `now` only if it expires after this."""
        return now + self.min_validity

    def expires_at(self, download_url: str, *, now: datetime) -> datetime:
        """When a result stored `now` with `download_url` stops being usable."""
        return link_expiry(download_url) or now + self.ttl


class ResultCacheSettings(ServiceSettings):
    """jobs-api's and the worker's result-cache settings (JOBS_RESULT_CACHE_*, both)."""

    result_cache_scope: CacheScope = Field(
        default=CacheScope.SHARED,
        description="shared: one result per link for everyone; user: per user; off",
    )
    result_cache_ttl_seconds: float = Field(
        default=3600.0, gt=0, description="a result's lifetime when its link has no expiry"
    )
    result_cache_min_validity_seconds: float = Field(
        default=600.0, ge=0, description="a cached link is handed out only this long before expiry"
    )

    @property
    def result_cache(self) -> ResultCachePolicy:
        return ResultCachePolicy(
            scope=self.result_cache_scope,
            ttl=timedelta(seconds=self.result_cache_ttl_seconds),
            min_validity=timedelta(seconds=self.result_cache_min_validity_seconds),
        )


def link_expiry(url: str) -> datetime | None:
    """When a signed download link expires, if it says so (None: it does not)."""
    try:
        params = {name.lower(): value for name, value in parse_qsl(urlsplit(url).query)}
        if "expires" in params:  # a plain signed URL (CloudFront, the simulator): unix time
            return datetime.fromtimestamp(int(params["expires"]), UTC)
        for prefix in ("x-amz-", "x-goog-"):  # S3 / GCS V4: signed at `date`, for `expires` s
            if f"{prefix}date" in params and f"{prefix}expires" in params:
                signed = datetime.strptime(params[f"{prefix}date"], "%Y%m%dT%H%M%SZ")
                lifetime = timedelta(seconds=int(params[f"{prefix}expires"]))
                return signed.replace(tzinfo=UTC) + lifetime
        if "se" in params and "sig" in params:  # an Azure SAS: ISO 8601
            return datetime.fromisoformat(params["se"].replace("Z", "+00:00")).astimezone(UTC)
    except (ValueError, OverflowError, OSError):
        return None
    return None
