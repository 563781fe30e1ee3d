"""Circuit breakers on the upstreams (git44_common.circuits): when ScraperAPI or
RemoveSora is down, jobs wait instead of spending their retries, polls and credits.

Each worker watches the calls it makes: `WORKER_BREAKER_CONSECUTIVE_FAILURES` (5)
failures in a row of one upstream, or at least `WORKER_BREAKER_FAILURE_RATIO` (half) of
its last `WORKER_BREAKER_WINDOW_CALLS` (20) calls within `WORKER_BREAKER_WINDOW_SECONDS`
(30 s, and at least half the window's calls), open that upstream's circuit — in
MongoDB, for every worker: each reads the circuits at most every
`WORKER_BREAKER_REFRESH_SECONDS` (1 s), so ten workers do not each find the outage.
A failure is a timeout, a refused connection or a 5xx (adapters.removesora says whose).

While a circuit is open, `permit` refuses calls with UpstreamDown: the job waits like a
key wait (`setbacks.wait_for_key`, `circuit_wait` set), no retry, poll or credit spent.
Once `next_probe_at` has passed, one call anywhere goes out as the probe: an answer
closes the circuit and wakes the waiting jobs, published oldest submission first (a
job's own delayed message, due at the next probe, may bring it back a little earlier);
a failure keeps it open and doubles the probe interval up to
`WORKER_BREAKER_PROBE_MAX_SECONDS`.
"""

from __future__ import annotations

import logging
import time
from collections import deque
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from typing import Protocol

from git44_common.amqp import REMOVAL_REQUESTED, Publisher
from git44_common.circuits import CircuitState, Upstream, circuit_state
from git44_common.clock import as_utc, utc_now
from git44_common.contracts import RemovalRequested
from git44_common.mongo import Database, Document
from git44_worker import metrics
from git44_worker.adapters.removesora import UpstreamError
from git44_worker.core.config import WorkerSettings
from git44_worker.crud import circuits as crud
from git44_worker.exceptions import UpstreamDown

log = logging.getLogger(__name__)


class HasUpstreams(Protocol):
    upstreams: tuple[Upstream, ...]


_STATE_VALUE = {CircuitState.CLOSED: 0, CircuitState.OPEN: 1, CircuitState.HALF_OPEN: 2}


@dataclass(frozen=True)
class Permit:
    """Leave to make one call along `upstreams` (outermost first); `probes`: the open
    circuits this call tests."""

    upstreams: tuple[Upstream, ...] = ()
    probes: tuple[Upstream, ...] = ()


@dataclass
class _Watch:
    """What this worker saw of one upstream's calls: (monotonic time, failed)."""

    window: deque[tuple[float, bool]]
    consecutive: int = 0


@dataclass
class UpstreamBreakers:
    db: Database
    publisher: Publisher
    settings: WorkerSettings
    _view: dict[str, Document] = field(default_factory=dict)
    _read_at: float = float("-inf")
    _watch: dict[Upstream, _Watch] = field(init=False)

    def __post_init__(self) -> None:
        size = self.settings.breaker_window_calls
        self._watch = {name: _Watch(deque(maxlen=size)) for name in Upstream}

    async def refresh(self) -> None:
        """Read the shared circuits if the copy here is older than the refresh period."""
        await self._refresh()

    def healthy(self, provider: HasUpstreams) -> bool:
        """No open circuit on the provider's path, as last read (no I/O)."""
        now = utc_now()
        return not self.settings.breaker_enabled or all(
            circuit_state(self._view.get(name), now=now) is CircuitState.CLOSED
            for name in provider.upstreams
        )

    async def permit(self, upstreams: tuple[Upstream, ...]) -> Permit:
        """Leave to call along `upstreams`, or UpstreamDown while a circuit on the way
        is open."""
        if not self.settings.breaker_enabled:
            return Permit(upstreams)
        await self._refresh()
        now = utc_now()
        probes: list[Upstream] = []
        for name in upstreams:
            doc = self._view.get(name)
            state = circuit_state(doc, now=now)
            if state is CircuitState.CLOSED:
                continue
            assert doc is not None
            if state is CircuitState.OPEN and as_utc(doc["next_probe_at"]) <= now:
                claimed = await crud.claim_probe(
                    self.db, name, worker_id=self._me, until=self._probe_until(now), now=now
                )
                if claimed is not None:
                    self._view[name] = claimed
                    probes.append(name)
                    continue
            await self.abandon(Permit(upstreams, tuple(probes)))
            metrics.CIRCUIT_HELD.labels(name).inc()
            raise self._down(name, doc, now)
        return Permit(upstreams, tuple(probes))

    async def record(self, permit: Permit, outcome: object) -> UpstreamDown | None:
        """Learn from the call's outcome; the wait the job must go into when it failed
        because an upstream is down (its circuit open now), else None."""
        failed = outcome.upstream if isinstance(outcome, UpstreamError) else None
        # who answered: those on the path before the one that failed (nothing behind a
        # proxy that failed itself was reached)
        chain = list(permit.upstreams)
        answered = chain[: chain.index(failed)] if failed in chain else chain
        for name in answered:
            metrics.UPSTREAM_OUTCOMES.labels(name, "answered").inc()
        if failed is not None:
            metrics.UPSTREAM_OUTCOMES.labels(failed, "failed").inc()
        if not self.settings.breaker_enabled:
            return None
        now = utc_now()
        for name in permit.probes:
            if name is failed:
                await self._probe_failed(name, now)
            elif name in answered:
                await self._close(name, now)
            else:  # no answer from it either way: test it again at once
                await crud.release_probe(self.db, name, worker_id=self._me, now=now)
        for name in answered:
            if name not in permit.probes:
                self._note(name, failed=False)
        if failed is None:
            return None
        if failed not in permit.probes and self._note(failed, failed=True):
            await self._open(failed, now)
        doc = self._view.get(failed)
        if circuit_state(doc, now=now) is CircuitState.CLOSED:
            return None
        assert doc is not None
        return self._down(failed, doc, now)

    async def abandon(self, permit: Permit) -> None:
        """The call was not made (no key, shutdown): hand the probes back."""
        for name in permit.probes:
            await crud.release_probe(self.db, name, worker_id=self._me, now=utc_now())

    @property
    def _me(self) -> str:
        return self.settings.worker_id

    def _probe_until(self, now: datetime) -> datetime:
        # a probe is one call: its read timeout, and margin for the key lease
        budget = self.settings.scraperapi_timeout_seconds + 10
        return now + timedelta(seconds=budget)

    def _down(self, name: str, doc: Document, now: datetime) -> UpstreamDown:
        until = max(as_utc(doc["next_probe_at"]), now + timedelta(seconds=1))
        return UpstreamDown(name, until=until, delay_seconds=(until - now).total_seconds())

    def _note(self, name: Upstream, *, failed: bool) -> bool:
        """Count a call this worker made; True when it should open the circuit."""
        s, watch, at = self.settings, self._watch[name], time.monotonic()
        watch.window.append((at, failed))
        watch.consecutive = watch.consecutive + 1 if failed else 0
        if watch.consecutive >= s.breaker_consecutive_failures:
            return True
        recent = [f for t, f in watch.window if at - t <= s.breaker_window_seconds]
        enough = len(recent) >= max(2, s.breaker_window_calls // 2)
        return enough and sum(recent) >= s.breaker_failure_ratio * len(recent)

    async def _open(self, name: Upstream, now: datetime) -> None:
        watch = self._watch[name]
        reason = f"{watch.consecutive} failures in a row" if watch.consecutive else "failure ratio"
        opened = await crud.open_circuit(
            self.db,
            name,
            reason=reason,
            probe_seconds=self.settings.breaker_probe_seconds,
            now=now,
        )
        watch.window.clear()
        watch.consecutive = 0
        if opened is None:  # another worker did: read it
            self._read_at = float("-inf")
            await self._refresh()
            return
        self._view[name] = opened
        metrics.CIRCUIT_OPENED.labels(name).inc()
        metrics.CIRCUIT_STATE.labels(name).set(_STATE_VALUE[CircuitState.OPEN])
        log.warning("%s circuit opened: %s", name, reason, extra={"upstream": name})

    async def _probe_failed(self, name: Upstream, now: datetime) -> None:
        doc = self._view.get(name) or {}
        grown = min(
            float(doc.get("probe_seconds") or self.settings.breaker_probe_seconds) * 2,
            self.settings.breaker_probe_max_seconds,
        )
        updated = await crud.probe_failed(
            self.db, name, worker_id=self._me, next_seconds=grown, now=now
        )
        if updated is not None:
            self._view[name] = updated
        log.info("%s probe failed; next in %.0f s", name, grown, extra={"upstream": name})

    async def _close(self, name: Upstream, now: datetime) -> None:
        if not await crud.close_circuit(self.db, name, worker_id=self._me, now=now):
            return
        self._view.pop(name, None)
        metrics.CIRCUIT_STATE.labels(name).set(_STATE_VALUE[CircuitState.CLOSED])
        waiting = await crud.waiting_jobs(self.db, name)
        log.warning(
            "%s circuit closed; waking %d waiting job(s)",
            name,
            len(waiting),
            extra={"upstream": name},
        )
        await crud.wake(self.db, [str(doc["_id"]) for doc in waiting], name, now=now)
        topology = self.publisher.topology
        for doc in waiting:  # oldest submission first
            request = RemovalRequested(
                job_id=str(doc["_id"]),
                user_id=str(doc["user_id"]),
                attempt=int(doc.get("retry_count") or 0),
            )
            try:
                await self.publisher.publish(topology.jobs_exchange, REMOVAL_REQUESTED, request)
            except Exception:  # its own delayed message still brings it, a little later
                log.warning("could not wake a job", extra={"job_id": doc["_id"]})

    async def _refresh(self) -> None:
        if time.monotonic() - self._read_at < self.settings.breaker_refresh_seconds:
            return
        self._view = await crud.read_all(self.db)
        self._read_at = time.monotonic()
        now = utc_now()
        for name in Upstream:
            state = circuit_state(self._view.get(name), now=now)
            metrics.CIRCUIT_STATE.labels(name).set(_STATE_VALUE[state])
