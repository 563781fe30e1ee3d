"""Fixed login windows and account counter names."""

from __future__ import annotations

from datetime import UTC, datetime

from git44_auth.throttle import account_subject, current_window


def test_windows_are_fixed_and_end_on_a_multiple_of_their_length() -> None:
    now = datetime(2025, 1, 1, 12, 3, 20, tzinfo=UTC)
    window = current_window(now, seconds=300)
    assert window.ends_at == datetime(2025, 1, 1, 12, 5, tzinfo=UTC)
    assert current_window(datetime(2025, 1, 1, 12, 4, 59, tzinfo=UTC), seconds=300) == window
    assert current_window(window.ends_at, seconds=300).index == window.index + 1


def test_account_counters_do_not_store_the_address() -> None:
    subject = account_subject("alice@example.com")
    assert "alice" not in subject
    assert subject == account_subject("alice@example.com")
    assert subject != account_subject("bob@example.com")
