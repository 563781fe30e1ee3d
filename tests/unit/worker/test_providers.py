"""Which provider a job's calls go to (adapters/provider.py): a new task to the first
in the order of preference; a stored task to the provider that made it."""

from __future__ import annotations

from collections import Counter
from random import Random

import pytest

from git44_common.circuits import Upstream
from git44_worker.adapters.provider import Providers
from git44_worker.adapters.removesora import CreateOutcome, PollOutcome, TaskCreated
from git44_worker.core.config import WorkerSettings


class Named:
    keys = "own"
    upstreams: tuple[Upstream, ...] = (Upstream.KIE,)

    def own_key(self) -> str | None:
        return "k"

    def __init__(self, name: str) -> None:
        self.name = name

    callbacks = False

    async def create(
        self, *, api_key: str, video_url: str, callback_url: str | None = None
    ) -> CreateOutcome:
        return TaskCreated(f"{self.name}-task")

    async def status(self, *, api_key: str, task_id: str) -> PollOutcome:
        raise NotImplementedError

    async def aclose(self) -> None:
        return None


def test_a_new_task_goes_to_the_preferred_provider_and_a_stored_one_stays() -> None:
    first, second = Named("first"), Named("second")
    providers = Providers([first, second])
    assert providers.for_new_task() is first
    assert providers.for_job({"_id": "j", "task_id": None, "provider": "second"}) is first
    assert providers.for_job({"_id": "j", "task_id": "t", "provider": "second"}) is second
    # a task stored before providers were recorded: the only provider then was the first
    assert providers.for_job({"_id": "j", "task_id": "t"}) is first


def test_a_task_at_a_provider_not_configured_here_is_an_error_not_a_second_task() -> None:
    providers = Providers([Named("first")])
    with pytest.raises(LookupError, match="elsewhere"):
        providers.for_job({"_id": "j", "task_id": "t", "provider": "elsewhere"})
    with pytest.raises(ValueError, match="at least one"):
        Providers([])


def test_a_new_task_skips_a_preferred_provider_that_is_not_healthy() -> None:
    first, second = Named("first"), Named("second")
    providers = Providers([first, second])
    assert providers.for_new_task(lambda p: p is not first) is second
    assert providers.for_new_task(lambda p: False) is first  # all down: the first; it waits


def test_weights_share_new_tasks_among_the_healthy_providers() -> None:
    first, second = Named("first"), Named("second")
    providers = Providers([first, second], weights={"first": 3, "second": 1}, rng=Random(5))
    picks = Counter(providers.for_new_task().name for _ in range(4000))
    assert 0.70 < picks["first"] / 4000 < 0.80
    # a provider that is down gets nothing, whatever its weight
    assert {providers.for_new_task(lambda p: p is second).name for _ in range(50)} == {"second"}


def test_weights_must_name_configured_providers() -> None:
    with pytest.raises(ValueError, match="provider_weights"):
        WorkerSettings(providers="removesora", provider_weights="kie:1")
    with pytest.raises(ValueError, match="provider_weights"):
        WorkerSettings(providers="removesora", provider_weights="removesora:x")
    assert WorkerSettings(provider_weights="removesora:2").provider_weight_map == {
        "removesora": 2.0
    }
