"""A replica's leases in memory (git44_keys.leases): each ends once, by its release or
its expiry, and the uses are kept until they are written."""

from __future__ import annotations

from datetime import UTC, datetime, timedelta

from git44_keys.leases import LeaseBook, Use

T0 = datetime(2026, 11, 30, 12, tzinfo=UTC)


class Clocks:
    def __init__(self) -> None:
        self.seconds = 0.0

    def wall(self) -> datetime:
        return T0 + timedelta(seconds=self.seconds)

    def monotonic(self) -> float:
        return self.seconds


def book_with(clocks: Clocks) -> LeaseBook:
    return LeaseBook(lease_seconds=90, clock=clocks.wall, monotonic=clocks.monotonic)


def test_a_lease_ends_once() -> None:
    book = book_with(Clocks())
    lease_id, lease = book.grant("k1", worker_id="w1", job_id="j1")
    assert (lease.key_id, lease.expires_at) == ("k1", T0 + timedelta(seconds=90))
    assert book.in_flight("k1") == 1
    assert lease_id in book
    assert book.take(lease_id) == lease
    assert book.take(lease_id) is None  # a duplicate release
    assert book.in_flight_by_key() == {}
    assert book.emptied.is_set()


def test_unreleased_leases_expire_after_the_lease_period() -> None:
    clocks = Clocks()
    book = book_with(clocks)
    first, _ = book.grant("k1", worker_id="w1", job_id=None)
    clocks.seconds = 60
    second, _ = book.grant("k2", worker_id="w1", job_id=None)
    clocks.seconds = 90
    assert book.expire() == 1
    assert first not in book
    assert book.in_flight_by_key() == {"k2": 1}
    assert book.latest_expiry() == T0 + timedelta(seconds=150)


def test_uses_are_summed_per_key_and_put_back_when_not_written() -> None:
    book = book_with(Clocks())
    book.count_use("k1", at=T0)
    book.count_use("k1", at=T0 + timedelta(seconds=2))
    book.count_use("k2", at=T0 + timedelta(seconds=1))
    uses = book.take_uses()
    assert uses == {
        "k1": Use(2, T0 + timedelta(seconds=2)),
        "k2": Use(1, T0 + timedelta(seconds=1)),
    }
    assert book.take_uses() == {}
    book.count_use("k1", at=T0 + timedelta(seconds=3))
    book.return_uses(uses)  # the write failed
    assert book.take_uses()["k1"] == Use(3, T0 + timedelta(seconds=3))
