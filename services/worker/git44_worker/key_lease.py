"""Key leases: ScraperAPI keys for upstream calls, leased from key-manager and released
with the outcome of the call.

`acquire` is key-manager's RPC; `release` is a message on `git44.keys` to the replica
that granted the lease (it holds its leases in memory, ADR 0010). Every upstream call
runs under its own key lease (`call_with_key`): a 403/429 is the key's fault, so the key
lease is released as `limited` and the same call is made again with another key.
"""

from __future__ import annotations

import asyncio
import itertools
import logging
import time
from collections.abc import Awaitable, Callable
from datetime import datetime
from typing import TypeVar

from git44_common.amqp import (
    KEYS_RELEASE,
    Publisher,
    PublishUnroutable,
    RpcClient,
    RpcError,
    keys_release_routing_key,
)
from git44_common.clock import utc_now
from git44_common.contracts import (
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyLease,
    KeyRelease,
    ReleaseOutcome,
)
from git44_common.logs import register_secret
from git44_worker import metrics
from git44_worker.adapters.removesora import KeyLimited, TaskFailed, UpstreamError
from git44_worker.domain.retry import seconds_until
from git44_worker.exceptions import KeysCoolingDown, KeysUnavailable

log = logging.getLogger(__name__)
OutcomeT = TypeVar("OutcomeT")

# While key-manager says "no_keys" ask again this often.
_NO_KEYS_BACKOFF = (0.1, 0.2, 0.4, 0.8, 1.0)


def release_outcome(outcome: object) -> tuple[ReleaseOutcome, int | None]:
    """What to tell key-manager about an upstream answer: ok, limited or error (+ status)."""
    if isinstance(outcome, KeyLimited):
        return ReleaseOutcome.LIMITED, outcome.status_code
    if isinstance(outcome, UpstreamError):
        return ReleaseOutcome.ERROR, outcome.status_code
    if isinstance(outcome, TaskFailed):
        return ReleaseOutcome.OK, outcome.status_code
    return ReleaseOutcome.OK, 200


class KeyLeaser:
    """Leases ScraperAPI keys from key-manager over RPC and releases them by message."""

    def __init__(
        self,
        *,
        rpc: RpcClient,
        publisher: Publisher,
        worker_id: str,
        acquire_timeout: float,
        wait_for_key_seconds: float,
        unavailable_delay: float,
        max_swaps: int,
    ) -> None:
        self._rpc = rpc
        self._publisher = publisher
        self._worker_id = worker_id
        self._acquire_timeout = acquire_timeout
        self._wait_for_key = wait_for_key_seconds
        self._unavailable_delay = unavailable_delay
        self._max_swaps = max_swaps

    async def _ask(self, job_id: str) -> KeyAcquireResult:
        request = KeyAcquireRequest(worker_id=self._worker_id, job_id=job_id)
        try:
            reply = await self._rpc.call("acquire", request, timeout=self._acquire_timeout)
            return KeyAcquireResult.model_validate(reply)
        except (RpcError, ValueError) as exc:
            log.warning("key-manager did not lease a key: %s", exc, extra={"job_id": job_id})
            raise KeysUnavailable(
                "key-manager did not answer", delay_seconds=self._unavailable_delay
            ) from exc

    async def acquire(self, job_id: str) -> KeyLease:
        """A ScraperAPI key lease; KeysCoolingDown / KeysUnavailable when the job must wait.

        Short waits (all keys busy for a moment, "no_keys" while keys are being
        added, a cooldown about to end) are waited out here, holding the job; only a
        wait longer than `wait_for_key_seconds` hands the job back to the queue.
        """
        deadline = time.monotonic() + self._wait_for_key
        for attempt in itertools.count():
            result = await self._ask(job_id)
            if result.lease is not None:
                register_secret(result.lease.api_key.get_secret_value())
                return result.lease
            until = result.cooldown_until
            if until is not None:
                pause = seconds_until(until, utc_now())
            else:
                pause = _NO_KEYS_BACKOFF[min(attempt, len(_NO_KEYS_BACKOFF) - 1)]
            if time.monotonic() + pause > deadline:
                raise self._wait_error(until)
            await asyncio.sleep(pause)
        raise AssertionError("unreachable")

    def _wait_error(self, until: datetime | None) -> KeysCoolingDown | KeysUnavailable:
        if until is not None:
            return KeysCoolingDown(until, delay_seconds=seconds_until(until, utc_now()))
        return KeysUnavailable(
            "no ScraperAPI key is available", delay_seconds=self._unavailable_delay
        )

    async def release(
        self, key_lease: KeyLease, *, outcome: ReleaseOutcome, status_code: int | None, job_id: str
    ) -> None:
        """Tell key-manager the key lease is done; a lost release only delays its expiry."""
        message = KeyRelease(
            lease_id=key_lease.lease_id,
            key_id=key_lease.key_id,
            outcome=outcome,
            status_code=status_code,
            job_id=job_id,
        )
        exchange = self._publisher.topology.keys_exchange
        try:
            try:
                routing_key = keys_release_routing_key(key_lease.replica_id)
                await self._publisher.publish(exchange, routing_key, message)
            except PublishUnroutable:
                # The replica that granted it is gone, and its leases with it; any
                # replica still applies a `limited` outcome from the shared queue.
                await self._publisher.publish(exchange, KEYS_RELEASE, message)
        except Exception:
            log.warning("could not release key lease %s", key_lease.lease_id, exc_info=True)

    async def call_with_key(
        self, *, job_id: str, op: str, call: Callable[[str], Awaitable[OutcomeT]]
    ) -> OutcomeT:
        """Run `call(key)` under a key lease; on 403/429 again with another key."""
        for _ in range(self._max_swaps):
            key_lease = await self.acquire(job_id)
            metrics.UPSTREAM_CALLS.labels(op).inc()
            try:
                outcome = await call(key_lease.api_key.get_secret_value())
            except BaseException:
                await self.release(
                    key_lease, outcome=ReleaseOutcome.ERROR, status_code=None, job_id=job_id
                )
                raise
            release, status = release_outcome(outcome)
            metrics.UPSTREAM_RESPONSES.labels(str(status) if status else "error").inc()
            metrics.UPSTREAM_CALLS_BY_KEY.labels(key_lease.key_id, op, release.value).inc()
            await self.release(key_lease, outcome=release, status_code=status, job_id=job_id)
            if not isinstance(outcome, KeyLimited):
                return outcome
            log.info(
                "key %s refused with %s; trying another",
                key_lease.key_id,
                status,
                extra={"job_id": job_id},
            )
        raise KeysUnavailable("every key tried was refused", delay_seconds=self._unavailable_delay)
