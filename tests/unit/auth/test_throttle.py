"""Login counters' account names (the windows: tests/unit/common/test_ratelimit.py)."""

from __future__ import annotations

from git44_auth.throttle import account_subject


def test_account_counters_do_not_store_the_address() -> None:
    subject = account_subject("alice@example.com")
    assert "alice" not in subject
    assert subject == account_subject("alice@example.com")
    assert subject != account_subject("bob@example.com")
