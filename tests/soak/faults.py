"""The fault scheduler: a schedule drawn from a seed (printed, so a run can be replayed),
then each fault run at its time, overlapping others as real incidents do.

Every kind happens at least once. Faults that restart a process (the kills and the
test-only fault points) fall in the first half of the fault window, so every service's
last process lives long enough for its resource curve to say whether it grows; the
rest fall anywhere. Two faults on the same thing (the broker, the database, the
simulator's config, the keys, the receivers, one slot) wait for each other.
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import random
from collections.abc import Awaitable, Callable
from dataclasses import asdict, dataclass, field
from typing import Any

import httpx
from localstack import DEMO_SCRAPER_KEYS, DEV_ADMIN_EMAIL, DEV_ADMIN_PASSWORD

from git44_keys.crypto import mask_key
from git44_sim.client import SimControl
from tests.soak.receivers import Receivers
from tests.soak.stack import SoakStack

log = logging.getLogger("soak.faults")

PROCESS_KINDS = (
    "kill:worker",
    "kill:jobs-api",
    "kill:key-manager",
    "kill:auth",
    "fault_point:jobs.after_commit",
    "fault_point:worker.after_task_created",
)
OTHER_KINDS = (
    "broker_restart",
    "database_restart",
    "upstream_errors",
    "upstream_slow",
    "keys_exhausted",
    "key_revoked",
    "webhook_dark",
)
MEAN_GAP_SECONDS = 40.0
POINT_SLOTS = {"jobs.after_commit": "jobs-api", "worker.after_task_created": "worker-1"}
LOCK_OF = {  # what a kind holds while it runs
    "broker_restart": "broker",
    "database_restart": "database",
    "upstream_errors": "sim-config",
    "upstream_slow": "sim-config",
    "keys_exhausted": "keys",
    "key_revoked": "keys",
    "webhook_dark": "receivers",
}


@dataclass
class Fault:
    at: float  # seconds since the soak started
    kind: str
    seconds: float  # how long it lasts (0 for a kill)
    t: float = 0.0  # when it really started
    target: str = ""
    detail: str = ""

    def record(self) -> dict[str, Any]:
        row = asdict(self)
        row["kind"] = self.kind.split(":")[0]
        row.pop("at")
        return row


def draw_schedule(seed: int, *, start: float, end: float) -> list[Fault]:
    """Stratified times (one fault per slice of the window), kinds as described above."""
    rng = random.Random(seed)
    count = max(len(PROCESS_KINDS) + len(OTHER_KINDS), round((end - start) / MEAN_GAP_SECONDS))
    width = (end - start) / count
    times = [start + (i + rng.uniform(0.1, 0.9)) * width for i in range(count)]
    half = count // 2
    kinds: list[str | None] = [None] * count
    first = rng.sample(range(half), len(PROCESS_KINDS))
    for index, kind in zip(first, PROCESS_KINDS, strict=True):
        kinds[index] = kind
    free = [i for i in range(count) if kinds[i] is None]
    for index, kind in zip(rng.sample(free, len(OTHER_KINDS)), OTHER_KINDS, strict=True):
        kinds[index] = kind
    for i in range(count):
        if kinds[i] is None:
            pool = PROCESS_KINDS + OTHER_KINDS if i < half else OTHER_KINDS
            kinds[i] = rng.choice(pool)
    return [
        Fault(at, kind or "", _duration(rng, kind or ""))
        for at, kind in zip(times, kinds, strict=True)
    ]


def _duration(rng: random.Random, kind: str) -> float:
    low, high = {
        "broker_restart": (5, 20),
        "database_restart": (3, 10),
        "upstream_errors": (15, 45),
        "upstream_slow": (20, 60),
        "keys_exhausted": (20, 40),
        "key_revoked": (20, 60),
        "webhook_dark": (20, 90),
    }.get(kind, (0, 0))
    return round(rng.uniform(low, high), 1)


@dataclass
class Injector:
    """Runs a schedule against the stack; `done` holds what happened, in order."""

    stack: SoakStack
    receivers: Receivers
    rng: random.Random
    done: list[Fault] = field(default_factory=list)
    locks: dict[str, asyncio.Lock] = field(default_factory=dict)

    async def run(self, schedule: list[Fault]) -> None:
        tasks = [asyncio.create_task(self._at(fault)) for fault in schedule]
        await asyncio.gather(*tasks)

    async def _at(self, fault: Fault) -> None:
        await asyncio.sleep(max(0.0, fault.at - self.stack.t()))
        family, _, what = fault.kind.partition(":")
        action: Callable[[Fault], Awaitable[None]] = getattr(self, f"_{family}")
        lock = LOCK_OF.get(fault.kind) or self._slot_of(family, what)
        async with self.locks.setdefault(lock, asyncio.Lock()):
            fault.t = round(self.stack.t(), 1)
            fault.target = fault.target or what or lock
            print(f"[{fault.t:7.1f}s] fault {fault.kind} ({fault.seconds}s)", flush=True)
            try:
                await action(fault)
            except Exception as exc:  # a fault that could not be made is reported, not fatal
                fault.detail += f" could not inject: {exc!r}"
                log.exception("fault %s", fault.kind)
            self.done.append(fault)

    def _slot_of(self, family: str, what: str) -> str:
        if family == "fault_point":
            return POINT_SLOTS[what]
        if what == "worker":
            return self.rng.choice(["worker-1", "worker-2"])
        return what

    # -- processes -----------------------------------------------------------------------

    async def _kill(self, fault: Fault) -> None:
        slot = self._slot_of("kill", fault.target) if fault.target == "worker" else fault.target
        fault.target = slot
        pid = self.stack.kill_slot(slot)
        self.stack.restart_slot(slot)
        await asyncio.to_thread(self.stack.wait_slot, slot)
        fault.detail = f"kill -9 pid {pid}; restarted as {self.stack.process(slot).pid}"

    async def _fault_point(self, fault: Fault) -> None:
        """Restart the slot with the point armed at every pass, wait for it to die there,
        start it again unarmed."""
        point = fault.target
        slot = POINT_SLOTS[point]
        fault.target = slot
        self.stack.process(slot).stop()
        self.stack.restart_slot(slot, env={"GIT44_FAULT_POINTS": f"{point}=1"})
        armed = self.stack.process(slot)
        for _ in range(240):
            if not armed.alive():
                break
            await asyncio.sleep(0.5)
        hit = not armed.alive() and f"fault point {point}" in armed.output()
        armed.stop()
        self.stack.restart_slot(slot)
        await asyncio.to_thread(self.stack.wait_slot, slot)
        fault.detail = f"{point}: {'killed there' if hit else 'NOT reached'} (pid {armed.pid})"

    # -- infrastructure ------------------------------------------------------------------

    async def _broker_restart(self, fault: Fault) -> None:
        await self.stack.restart_broker(fault.seconds)
        fault.detail = f"RabbitMQ stopped, down {fault.seconds}s, started on its data"

    async def _database_restart(self, fault: Fault) -> None:
        await self.stack.restart_database(fault.seconds)
        fault.detail = f"SecantusDB kill -9, down {fault.seconds}s, restarted on its data"

    async def _upstream_errors(self, fault: Fault) -> None:
        async with SimControl(self.stack.url("sim")) as sim:
            await sim.update_config(proxy_failure_rate=1.0)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                await sim.update_config(proxy_failure_rate=0.0)
        fault.detail = "every ScraperAPI call a 500"

    async def _upstream_slow(self, fault: Fault) -> None:
        latency = round(self.rng.uniform(1500, 4000))
        async with SimControl(self.stack.url("sim")) as sim:
            await sim.update_config(proxy_latency_ms=latency)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                await sim.update_config(proxy_latency_ms=0)
        fault.detail = f"ScraperAPI answers after {latency} ms"

    async def _keys_exhausted(self, fault: Fault) -> None:
        async with SimControl(self.stack.url("sim")) as sim:
            for key in await sim.list_keys():
                await sim.put_key(key.api_key, request_limit=key.request_count)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                for key in DEMO_SCRAPER_KEYS:
                    await sim.put_key(key, request_limit=10_000_000)
        fault.detail = "every key's plan used up (403), restored after"

    async def _key_revoked(self, fault: Fault) -> None:
        """ScraperAPI forgets a key (401: key-manager disables it); an operator gives it
        back and enables it again."""
        key = self.rng.choice(DEMO_SCRAPER_KEYS)
        fault.target = key
        async with SimControl(self.stack.url("sim")) as sim:
            await sim.delete_key(key)
            try:
                await asyncio.sleep(fault.seconds)
            finally:
                await sim.put_key(key, request_limit=10_000_000)
        fault.detail = f"{key} revoked; given back, {await self._enable_key(key)}"

    async def _enable_key(self, key: str) -> str:
        auth, keys = self.stack.url("auth"), self.stack.url("key-manager")
        async with httpx.AsyncClient(timeout=30, trust_env=False) as http:
            for _ in range(30):
                with contextlib.suppress(httpx.HTTPError, KeyError, ValueError, StopIteration):
                    login = {"email": DEV_ADMIN_EMAIL, "password": DEV_ADMIN_PASSWORD}
                    token = (await http.post(f"{auth}/api/auth/login", json=login)).json()
                    admin = {"Authorization": f"Bearer {token['accessToken']}"}
                    listed = (
                        await http.get(f"{keys}/api/admin/scraper-keys", headers=admin)
                    ).json()
                    mine = next(k for k in listed["data"] if k["maskedKey"] == mask_key(key))
                    url = f"{keys}/api/admin/scraper-keys/{mine['id']}"
                    answer = await http.patch(url, json={"enabled": True}, headers=admin)
                    return f"enabled again ({answer.status_code}, was {mine['status']})"
                await asyncio.sleep(2)
        return "could NOT be enabled again"

    async def _webhook_dark(self, fault: Fault) -> None:
        self.receivers.dark = True
        try:
            await asyncio.sleep(fault.seconds)
        finally:
            self.receivers.dark = False
        fault.detail = "both webhook receivers answer 503"
