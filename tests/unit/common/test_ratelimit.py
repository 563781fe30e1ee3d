"""Fixed windows, usage, refusals and the IETF RateLimit headers (git44_common.ratelimit)."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from git44_common.exceptions import RateLimited
from git44_common.ratelimit import Limit, enforce, rate_limit_headers

NOW = datetime(2025, 1, 1, 12, 3, 20, tzinfo=UTC)


def test_windows_are_fixed_and_end_on_a_multiple_of_their_length() -> None:
    limit = Limit("login-ip", 30, 300)
    start, ends = limit.window(NOW)
    assert ends == datetime(2025, 1, 1, 12, 5, tzinfo=UTC)
    assert limit.window(datetime(2025, 1, 1, 12, 4, 59, tzinfo=UTC)) == (start, ends)
    assert limit.window(ends)[0] == start + 300
    assert limit.counter_id("10.0.0.1", NOW) == f"login-ip:10.0.0.1:{start}"


def test_usage_counts_down_to_zero_and_is_exceeded_only_past_the_quota() -> None:
    limit = Limit("user-submissions", 60, 60)
    at_quota = limit.usage(60, NOW)
    assert (at_quota.remaining, at_quota.exceeded, at_quota.resets_in) == (0, False, 40.0)
    assert limit.usage(61, NOW).exceeded


def test_the_headers_describe_the_limit_closest_to_exhaustion() -> None:
    requests = Limit("user-requests", 600, 60).usage(10, NOW)
    submissions = Limit("user-submissions", 60, 60).usage(50, NOW)
    assert rate_limit_headers([requests, submissions]) == {
        "RateLimit-Policy": '"user-submissions";q=60;w=60',
        "RateLimit": '"user-submissions";r=10;t=40',
    }
    assert rate_limit_headers([]) == {}


def test_a_refusal_is_a_429_with_retry_after_and_the_exceeded_limits_headers() -> None:
    fine = Limit("user-requests", 600, 60).usage(10, NOW)
    over = Limit("register-ip", 10, 3600).usage(11, NOW)
    enforce([fine], what="requests")  # nothing over: no refusal
    with pytest.raises(RateLimited) as refused:
        enforce([fine, over], what="registrations")
    error = refused.value
    assert (error.status, error.code, error.retry_after) == (429, "rate_limited", 3400)
    assert error.headers["RateLimit"] == '"register-ip";r=0;t=3400'
    assert error.headers["Retry-After"] == "3400"
    assert "10 registrations per 3600 s" in str(error)
