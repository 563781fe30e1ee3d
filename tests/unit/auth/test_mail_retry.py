"""Mail retry timing: the schedule is the setting, a mail back early waits the rest."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_auth.mail.retry import next_delay, remaining_wait

NOW = datetime(2026, 11, 30, 12, 0, tzinfo=UTC)


def test_each_failed_try_takes_the_next_delay_until_none_is_left() -> None:
    delays = [10.0, 60.0, 300.0]
    assert [next_delay(tries, delays) for tries in (1, 2, 3, 4)] == [10.0, 60.0, 300.0, None]
    assert next_delay(1, []) is None


def test_a_mail_back_before_it_is_due_waits_the_rest() -> None:
    assert remaining_wait(None, NOW) == 0
    assert remaining_wait(NOW - timedelta(seconds=5), NOW) == 0
    assert remaining_wait(NOW + timedelta(milliseconds=20), NOW) == 0  # close enough
    assert remaining_wait(NOW + timedelta(seconds=50), NOW) == 50
