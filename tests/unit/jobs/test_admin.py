"""The admin panel's pure rules: duration figures, success rate, quota changes."""

from __future__ import annotations

import pytest

from git44_common.exceptions import ValidationFailed
from git44_jobs.admin.quotas import quota_change
from git44_jobs.admin.stats import success_rate, summarize_durations
from git44_jobs.credits.models import QuotaUpdate


def test_durations_average_and_p95() -> None:
    assert summarize_durations([]) == (None, None)
    average, p95 = summarize_durations([float(s) for s in range(1, 101)])
    assert (average, p95) == (50.5, 95.0)
    assert success_rate({"success": 3, "failed": 1, "queued": 9}) == 0.75
    assert success_rate({"queued": 2}) is None


def test_quota_changes_set_values_and_add_credits_to_both_counters() -> None:
    update = quota_change(QuotaUpdate(add_credits=5, daily_limit=10))
    assert update == {
        "$set": {"daily_limit": 10},
        "$inc": {"total_quota": 5, "remaining_quota": 5},
    }
    with pytest.raises(ValidationFailed):
        quota_change(QuotaUpdate())
    with pytest.raises(ValidationFailed):
        quota_change(QuotaUpdate(add_credits=1, total_quota=3))
