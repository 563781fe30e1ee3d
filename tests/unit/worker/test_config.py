"""Worker settings guard the development-only switches."""

from __future__ import annotations

import pytest
from cryptography.fernet import Fernet
from pydantic import ValidationError

from git44_worker.core.config import WorkerSettings


def test_private_webhook_destinations_are_refused_in_production() -> None:
    with pytest.raises(ValidationError, match="development"):
        WorkerSettings(
            environment="production",
            webhook_secrets_encryption_key=Fernet.generate_key().decode(),
            webhook_allow_private=True,
        )
    assert WorkerSettings(environment="test", webhook_allow_private=True).webhook_allow_private


def test_each_worker_process_gets_its_own_id() -> None:
    assert WorkerSettings().worker_id != WorkerSettings().worker_id


def test_the_seed_defaults() -> None:
    settings = WorkerSettings()
    assert settings.concurrency == 3
    assert (settings.poll_min_seconds, settings.poll_max_seconds) == (3.0, 5.0)
    assert settings.scraperapi_timeout_seconds == 70.0


def test_the_frontier_poll_policy_is_the_default_and_the_seeds_is_kept() -> None:
    assert WorkerSettings().poll_policy == "frontier"
    assert WorkerSettings(poll_policy="fixed").poll_policy == "fixed"
    with pytest.raises(ValidationError):
        WorkerSettings(poll_policy="sometimes")


def test_a_poll_interval_range_must_be_ordered() -> None:
    with pytest.raises(ValidationError):
        WorkerSettings(poll_min_seconds=5, poll_max_seconds=3)
