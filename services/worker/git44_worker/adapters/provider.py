"""The provider interface: what the job run needs of a hosted watermark-removal service,
whatever its HTTP shapes (issue 16; RemoveSora through ScraperAPI is the first).

A provider starts a task for a video (`create`) and says how a task is doing
(`status`), returning the typed outcomes of `adapters.removesora` — never raising for
an HTTP or network failure — so retries, key swaps and circuit breakers work the same
for all. `keys` names the key pool its calls lease from (`scraperapi`).

A job's task belongs to the provider that created it (`provider` on the job, stored
with the task id): polls, a takeover and a resume after a key wait go to that provider;
only a new attempt (a retry) may start elsewhere.
"""

from __future__ import annotations

import random
from collections.abc import Callable, Iterable, Mapping
from typing import Protocol

from git44_common.circuits import Upstream
from git44_common.mongo import Document
from git44_worker.adapters.removesora import CreateOutcome, PollOutcome


class Provider(Protocol):
    name: str
    keys: str  # "scraperapi": leased from key-manager; "own": `own_key()`
    upstreams: tuple[Upstream, ...]  # the calls' path, outermost first (circuit breakers)
    callbacks: bool  # it calls `callback_url` back when a task ends

    def own_key(self) -> str | None: ...

    async def create(
        self, *, api_key: str, video_url: str, callback_url: str | None = None
    ) -> CreateOutcome: ...

    async def status(self, *, api_key: str, task_id: str) -> PollOutcome: ...

    async def aclose(self) -> None: ...


class Providers:
    """The configured providers, in the order of preference (`WORKER_PROVIDERS`)."""

    def __init__(
        self,
        providers: Iterable[Provider],
        *,
        weights: Mapping[str, float] | None = None,
        rng: random.Random | None = None,
    ) -> None:
        self._by_name: Mapping[str, Provider] = {p.name: p for p in providers}
        if not self._by_name:
            raise ValueError("at least one provider is needed")
        self._order = list(self._by_name)
        self._weights = dict(weights or {})
        self._rng = rng or random.Random()

    def for_new_task(self, healthy: Callable[[Provider], bool] = lambda _: True) -> Provider:
        """Where a new task goes: among the `healthy` providers (no open circuit on
        their path), the first in the order of preference — or, with weights, one drawn
        in proportion to them; when none is healthy, the first (its job waits)."""
        candidates = [self._by_name[name] for name in self._order]
        up = [p for p in candidates if healthy(p)]
        if not up:
            return candidates[0]
        weighted = [p for p in up if self._weights.get(p.name, 0.0) > 0]
        if not weighted:
            return up[0]
        weights = [self._weights[p.name] for p in weighted]
        return self._rng.choices(weighted, weights=weights)[0]

    @property
    def names(self) -> list[str]:
        return list(self._order)

    def for_job(self, job: Document) -> Provider:
        """The provider holding the job's task (a job from before providers: the first)."""
        name = job.get("provider")
        if name is None or not job.get("task_id"):
            return self.for_new_task()
        provider = self._by_name.get(str(name))
        if provider is None:
            raise LookupError(f"job {job['_id']}'s task is at {name}, not configured here")
        return provider

    async def aclose(self) -> None:
        for provider in self._by_name.values():
            await provider.aclose()
