"""The whole backend as real processes for e2e tests, cleaned up afterwards."""

from __future__ import annotations

import asyncio
import uuid
from collections.abc import Iterator, Mapping, Sequence
from concurrent.futures import ThreadPoolExecutor
from contextlib import contextmanager
from pathlib import Path
from typing import Any, Literal

import aio_pika
import pytest
from localstack import DEMO_SCRAPER_KEYS, LocalStack

from git44_common.amqp import Topology, delete_topology

# Real behaviour, shorter clocks: sub-second upstream processing and polling, cheap bcrypt.
FAST_ENV = {
    "GIT44_ENV": "test",
    "AUTH_BCRYPT_ROUNDS": "4",
    "WORKER_POLL_MIN_SECONDS": "0.3",
    "WORKER_POLL_MAX_SECONDS": "0.6",
    "WORKER_RETRY_BACKOFF_SECONDS": "1",
}
# Every test stack registers its accounts from one address (127.0.0.1): registrations
# per IP are raised for them (the other limits keep their defaults).
FAST_ENV["AUTH_REGISTER_PER_IP_PER_HOUR"] = "100000"
# Load tests (chaos, benchmarks, fuzzing) offer more than one user's or the service's
# default budget: every limit stays on, set above the load.
RAISED_LIMITS = {
    "AUTH_REGISTER_GLOBAL_PER_HOUR": "1000000",
    "AUTH_LOGIN_IP_LIMIT": "1000000",
    "AUTH_LOGIN_ACCOUNT_LIMIT": "1000000",
    "JOBS_API_KEY_RATE_LIMIT": "1000000",
    "JOBS_USER_REQUESTS_PER_MINUTE": "1000000",
    "JOBS_USER_SUBMISSIONS_PER_MINUTE": "1000000",
    "JOBS_GLOBAL_SUBMISSIONS_PER_MINUTE": "1000000",
}
FAST_SIM_ARGS = ("--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "0.5-1.0")

# A stack whose webhooks reach a receiver on this machine, with tasks of 0.5 s polled
# every 0.3–0.5 s (the webhook e2e tests).
WEBHOOK_SIM_ARGS = ("--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "0.5")
LOCAL_WEBHOOKS = {
    "JOBS_ALLOW_PRIVATE_CALLBACKS": "true",
    "WORKER_WEBHOOK_ALLOW_PRIVATE": "true",
    "WORKER_POLL_MIN_SECONDS": "0.3",
    "WORKER_POLL_MAX_SECONDS": "0.5",
}


async def delete_namespace(amqp_url: str, namespace: str) -> None:
    """Delete a namespace's exchanges and queues: leave no quorum queues on the broker."""
    connection = await aio_pika.connect(amqp_url, timeout=10)
    async with connection, connection.channel() as channel:
        await delete_topology(channel, Topology(namespace=namespace))


def delete_namespace_now(amqp_url: str, namespace: str) -> None:
    """`delete_namespace` from synchronous code, even while an event loop runs in this
    thread (a fixture's teardown inside an async test): in a thread of its own."""
    with ThreadPoolExecutor(max_workers=1) as pool:
        pool.submit(asyncio.run, delete_namespace(amqp_url, namespace)).result(timeout=60)


@contextmanager
def running_stack(
    *,
    mongo_url: str | None,
    amqp_url: str,
    data_dir: Path,
    tag: str = "e",
    extra_env: Mapping[str, str] | None = None,
    sim_args: Sequence[str] = FAST_SIM_ARGS,
    cleanup_amqp: bool = True,
) -> Iterator[LocalStack]:
    """SecantusDB-backed services + simulator on free ports, own database and namespace
    (deleted afterwards unless `cleanup_amqp` is off). `mongo_url=None` gives the stack
    its own SecantusDB, storing in `data_dir`."""
    suffix = uuid.uuid4().hex[:10]
    local = LocalStack(
        amqp_url=amqp_url,
        mongodb_url=mongo_url,
        mongodb_db=f"git44_{tag}_{suffix}",
        amqp_namespace=f".{tag}{suffix}",
        free_ports=True,
        data_dir=data_dir,
        sim_args=list(sim_args),
        extra_env={**FAST_ENV, **(extra_env or {})},
    )
    data_dir.mkdir(parents=True, exist_ok=True)
    try:
        local.start(timeout=90)
        yield local
    finally:
        local.stop()
        if cleanup_amqp:
            delete_namespace_now(amqp_url, local.amqp_namespace)


def stack_fixture(
    name: str,
    *,
    scope: Literal["module", "package", "session"],
    tag: str = "e",
    extra_env: Mapping[str, str] | None = None,
    sim_args: Sequence[str] = FAST_SIM_ARGS,
) -> Any:
    """A pytest fixture `name` yielding a `running_stack` with these settings, e.g.
    `stack = stack_fixture("stack", scope="module", extra_env={...})` in a test module."""

    @pytest.fixture(scope=scope, name=name)
    def fixture(
        mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
    ) -> Iterator[LocalStack]:
        with running_stack(
            mongo_url=mongo_url,
            amqp_url=amqp_url,
            data_dir=tmp_path_factory.mktemp(f"{name}-{tag}"),
            tag=tag,
            extra_env=extra_env,
            sim_args=sim_args,
        ) as local:
            yield local

    return fixture
