"""When a worker opens an upstream's circuit (breaker.py `_note`): failures in a row,
or a failure ratio over the recent window; the shared part runs in
tests/integration/worker/test_breaker.py."""

from __future__ import annotations

from typing import Any

from git44_common.circuits import Upstream
from git44_worker.breaker import UpstreamBreakers
from git44_worker.core.config import WorkerSettings


def breakers(**settings: Any) -> UpstreamBreakers:
    # `_note` touches neither the database nor the broker
    return UpstreamBreakers(db=None, publisher=None, settings=WorkerSettings(**settings))  # type: ignore[arg-type]


def test_five_failures_in_a_row_open_it_and_one_answer_resets_the_run() -> None:
    watch = breakers()
    assert [watch._note(Upstream.SCRAPERAPI, failed=True) for _ in range(4)] == [False] * 4
    assert watch._note(Upstream.SCRAPERAPI, failed=False) is False
    results = [watch._note(Upstream.SCRAPERAPI, failed=True) for _ in range(5)]
    assert results == [False, False, False, False, True]


def test_half_of_the_recent_calls_failing_opens_it() -> None:
    watch = breakers(breaker_consecutive_failures=100)
    pattern = [True, False] * 5  # 10 calls, half failed, never two in a row
    results = [watch._note(Upstream.REMOVESORA, failed=failed) for failed in pattern]
    assert results[-1] is True
    assert not any(results[:8])  # not before the window holds enough calls


def test_the_upstreams_are_watched_apart_and_a_few_failures_do_not_open() -> None:
    watch = breakers()
    for _ in range(4):
        assert watch._note(Upstream.SCRAPERAPI, failed=True) is False
    assert watch._note(Upstream.REMOVESORA, failed=True) is False
    calm = breakers()
    pattern = [False, False, False, True] * 5  # 25 % failing
    assert not any(calm._note(Upstream.SCRAPERAPI, failed=failed) for failed in pattern)
