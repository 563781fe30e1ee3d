"""Which tokens a `SessionsEnded` event ends, and how long ended ids are kept."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_common.contracts import SessionsEnded
from git44_common.sessions import EndedSessions

AT = datetime(2026, 11, 30, 12, 0, 0, 500_000, tzinfo=UTC)


def test_an_event_ends_its_sessions_and_tokens_issued_before_valid_after() -> None:
    one = SessionsEnded(user_id="u1", session_ids=["s1"], reason="logout")
    assert one.covers("s1", issued_at=0)
    assert not one.covers("s2", issued_at=0)
    assert not one.covers(None, issued_at=0)  # a token without sid: only "all" ends it

    every = SessionsEnded(user_id="u1", valid_after=AT, reason="logout_all")
    second = int(AT.timestamp())
    assert every.covers(None, issued_at=second - 1)
    # whole seconds, like `iat`: the session a password change starts at once survives
    assert not every.covers("new", issued_at=second)


def test_ended_sessions_are_kept_until_their_tokens_expire() -> None:
    ended = EndedSessions()
    ended.add("short", until=AT + timedelta(minutes=1))
    ended.add("long", until=AT + timedelta(days=7))
    ended.add("naive", until=(AT + timedelta(days=7)).replace(tzinfo=None))
    ended.prune(AT + timedelta(hours=1))
    assert ("short" in ended, "long" in ended, "naive" in ended) == (False, True, True)
    assert len(ended) == 2
