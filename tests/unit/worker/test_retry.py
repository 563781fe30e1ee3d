"""Retry timing of jobs and webhook deliveries."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_worker.domain.retry import is_due, retry_delay, seconds_until, webhook_retry_delay

NOW = datetime(2026, 11, 26, 12, 0, tzinfo=UTC)


def test_job_retries_back_off_exponentially_up_to_a_cap() -> None:
    delays = [retry_delay(n, base=5, factor=3, maximum=600) for n in (1, 2, 3, 4, 5, 6)]
    assert delays == [5, 15, 45, 135, 405, 600]


def test_a_moment_in_the_past_or_none_is_due() -> None:
    assert is_due(None, NOW)
    assert is_due(NOW - timedelta(seconds=1), NOW)
    assert is_due(NOW + timedelta(milliseconds=10), NOW)
    assert not is_due(NOW + timedelta(seconds=2), NOW)
    assert seconds_until(NOW + timedelta(seconds=2), NOW) == 2.0
    assert seconds_until(NOW - timedelta(seconds=2), NOW) == 0.0


def test_webhook_retries_follow_the_configured_schedule_then_stop() -> None:
    schedule = [30.0, 120.0, 600.0, 1200.0, 1800.0]
    assert [webhook_retry_delay(n, schedule) for n in range(1, 7)] == [*schedule, None]
    assert sum(schedule) >= 3600  # at least 5 retries over about an hour


def test_the_default_webhook_schedule_makes_at_least_five_attempts_over_an_hour() -> None:
    from git44_worker.core.config import WorkerSettings

    settings = WorkerSettings(environment="test")
    assert settings.webhook_max_attempts >= 5
    assert 3000 <= sum(settings.webhook_retry_delays_seconds) <= 5400
