"""What key-manager is told after each upstream call."""

from __future__ import annotations

import pytest

from git44_common.contracts import ReleaseOutcome
from git44_worker.adapters.removesora import (
    KeyLimited,
    TaskCreated,
    TaskFailed,
    TaskProcessing,
    TaskSucceeded,
    UpstreamError,
)
from git44_worker.key_lease import release_outcome


@pytest.mark.parametrize(
    ("outcome", "expected"),
    [
        (TaskCreated("t"), (ReleaseOutcome.OK, 200)),
        (TaskProcessing(), (ReleaseOutcome.OK, 200)),
        (TaskSucceeded("https://x/y.mp4"), (ReleaseOutcome.OK, 200)),
        (TaskFailed("bad video"), (ReleaseOutcome.OK, 200)),
        (TaskFailed("gone", 404), (ReleaseOutcome.OK, 404)),
        (KeyLimited(403), (ReleaseOutcome.LIMITED, 403)),
        (KeyLimited(429), (ReleaseOutcome.LIMITED, 429)),
        (UpstreamError(500, "boom"), (ReleaseOutcome.ERROR, 500)),
        (UpstreamError(None, "timeout"), (ReleaseOutcome.ERROR, None)),
    ],
)
def test_the_key_is_blamed_only_for_403_and_429(
    outcome: object, expected: tuple[ReleaseOutcome, int | None]
) -> None:
    assert release_outcome(outcome) == expected
