"""The simulator as a real process (one per test module), reset before every test."""

from __future__ import annotations

from collections.abc import AsyncIterator, Iterator

import httpx
import pytest

from git44_sim.client import SimControl
from tests.integration.sim.startup import (
    KEYS,
    START_CONCURRENCY,
    START_CREDITS,
    START_PROCESSING_SECONDS,
)
from tests.utils.processes import ManagedProcess, free_port, python_module


@pytest.fixture(scope="module")
def sim_smtp_port() -> int:
    """Where the simulator's SMTP sink listens."""
    return free_port()


@pytest.fixture(scope="module")
def sim_url(tmp_path_factory: pytest.TempPathFactory, sim_smtp_port: int) -> Iterator[str]:
    port = free_port()
    args = python_module(
        "git44_sim",
        "--port", str(port),
        "--smtp-port", str(sim_smtp_port),
        "--keys", ",".join(KEYS),
        "--credits", str(START_CREDITS),
        "--concurrency", str(START_CONCURRENCY),
        "--processing-seconds", str(START_PROCESSING_SECONDS),
        "--failure-rate", "0",
        "--proxy-latency-ms", "0",
        "--proxy-failure-rate", "0",
        "--removesora-latency-ms", "0",
        "--seed", "7",
    )  # fmt: skip
    proc = ManagedProcess("sim", args, log_dir=tmp_path_factory.mktemp("sim")).start()
    url = f"http://127.0.0.1:{port}"
    try:
        proc.wait_http_ok(f"{url}/healthz", timeout=30)
        yield url
    finally:
        proc.stop()


@pytest.fixture
async def sim(sim_url: str) -> AsyncIterator[SimControl]:
    async with SimControl(sim_url) as control:
        await control.reset()
        yield control


@pytest.fixture
async def http() -> AsyncIterator[httpx.AsyncClient]:
    async with httpx.AsyncClient(timeout=15.0, trust_env=False) as client:
        yield client
