"""Quota rules: the UTC-day window and refusal reasons."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_common.quota import (
    new_quota_document,
    next_reset,
    refusal_reason,
    seconds_until_reset,
    utc_day,
    view_quota,
)

NOON = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_the_day_is_the_utc_day_whatever_the_offset() -> None:
    late_in_new_york = datetime(2026, 11, 26, 22, 0, tzinfo=UTC) - timedelta(hours=0)
    assert utc_day(late_in_new_york) == "2026-11-26"
    assert utc_day(datetime(2026, 11, 27, 0, 0, 1, tzinfo=UTC)) == "2026-11-27"


def test_the_window_resets_at_the_next_utc_midnight() -> None:
    assert next_reset(NOON) == datetime(2026, 11, 27, tzinfo=UTC)
    assert seconds_until_reset(NOON) == 12 * 3600
    assert seconds_until_reset(datetime(2026, 11, 26, 23, 59, 59, 999000, tzinfo=UTC)) == 1


def test_a_new_user_has_the_defaults_and_nothing_used() -> None:
    doc = new_quota_document("u1", total=500, daily_limit=50, now=NOON)
    quota = view_quota(doc, NOON)
    assert (quota.total_quota, quota.remaining_quota, quota.daily_used) == (500, 500, 0)
    assert refusal_reason(doc, NOON) is None


def test_out_of_credits_comes_before_the_daily_limit() -> None:
    doc = {
        **new_quota_document("u1", total=5, daily_limit=3, now=NOON),
        "remaining_quota": 0,
        "daily_used": 3,
    }
    assert refusal_reason(doc, NOON) == "quota_exhausted"


def test_the_daily_limit_applies_today_and_not_tomorrow() -> None:
    doc = {**new_quota_document("u1", total=5, daily_limit=3, now=NOON), "daily_used": 3}
    assert refusal_reason(doc, NOON) == "daily_limit_reached"
    tomorrow = NOON + timedelta(days=1)
    assert refusal_reason(doc, tomorrow) is None
    assert view_quota(doc, tomorrow).daily_used == 0
