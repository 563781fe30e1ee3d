"""The result cache's rules: keys by scope, and how long a download link stays usable."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

import pytest

from git44_common.result_cache import CacheScope, ResultCachePolicy, link_expiry

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)
LINK = "https://sora.chatgpt.com/p/s_abc"


def policy(scope: CacheScope = CacheScope.SHARED) -> ResultCachePolicy:
    return ResultCachePolicy(
        scope=scope, ttl=timedelta(hours=1), min_validity=timedelta(minutes=10)
    )


def test_shared_keys_ignore_the_user_and_per_user_keys_do_not() -> None:
    shared, own = policy(), policy(CacheScope.USER)
    assert shared.key(LINK, "u1") == shared.key(LINK, "u2")
    assert own.key(LINK, "u1") != own.key(LINK, "u2")
    assert shared.enabled
    assert own.enabled
    assert not policy(CacheScope.OFF).enabled


@pytest.mark.parametrize(
    ("url", "expected"),
    [
        (f"https://cdn.example/v.mp4?expires={int(NOW.timestamp())}&signature=ab", NOW),
        (
            "https://b.s3.amazonaws.example/v.mp4?X-Amz-Date=20261130T120000Z&X-Amz-Expires=900"
            "&X-Amz-Signature=ab",
            NOW + timedelta(seconds=900),
        ),
        (
            "https://storage.example/v.mp4?x-goog-date=20261130T120000Z&x-goog-expires=60",
            NOW + timedelta(seconds=60),
        ),
        ("https://blob.example/v.mp4?se=2026-11-30T12:00:00Z&sig=ab", NOW),
        ("https://cdn.example/v.mp4", None),
        ("https://cdn.example/v.mp4?expires=soon", None),
        ("https://cdn.example/v.mp4?X-Amz-Expires=60", None),  # no signing date
    ],
)
def test_a_links_own_expiry_is_read_from_its_signature(url: str, expected: datetime) -> None:
    assert link_expiry(url) == expected


def test_the_ttl_stands_in_for_a_link_without_expiry() -> None:
    assert policy().expires_at("https://cdn.example/v.mp4", now=NOW) == NOW + timedelta(hours=1)
    signed = f"https://cdn.example/v.mp4?expires={int(NOW.timestamp()) + 60}"
    assert policy().expires_at(signed, now=NOW) == NOW + timedelta(seconds=60)
    assert policy().usable_after(NOW) == NOW + timedelta(minutes=10)
