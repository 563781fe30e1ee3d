"""Fixtures of the deployment tests: Debian's nginx and promtool, and a local stack
(SecantusDB-or-MONGODB_URL, RabbitMQ, simulator, the four services) tuned so a job
finishes in about a second, with the gateway in front of it."""

from __future__ import annotations

import shutil
from collections.abc import Iterator
from pathlib import Path

import pytest
from gateway import Gateway, start_gateway
from localstack import DEMO_SCRAPER_KEYS, LocalStack, free_port

from tests.utils.infra import SYSTEM_PACKAGES_HINT
from tests.utils.stack import stack_fixture

ROOT = Path(__file__).resolve().parents[2]


@pytest.fixture(scope="session")
def promtool() -> str:
    binary = shutil.which("promtool")
    if binary is None:
        pytest.skip(
            f"promtool (Debian package prometheus) is not installed; {SYSTEM_PACKAGES_HINT}"
        )
    return binary


# The whole backend as real processes; RemoveSora answers within a fraction of a second.
fast_stack = stack_fixture(
    "fast_stack",
    scope="session",
    tag="d",
    sim_args=["--keys", ",".join(DEMO_SCRAPER_KEYS), "--processing-seconds", "0.2"],
    extra_env={"WORKER_POLL_MIN_SECONDS": "0.2", "WORKER_POLL_MAX_SECONDS": "0.3"},
)


@pytest.fixture(scope="session")
def stack_gateway(
    nginx: str, fast_stack: LocalStack, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[Gateway]:
    """Debian's nginx on the rendered gateway config, in front of `fast_stack`."""
    gateway = start_gateway(
        fast_stack.ports,
        run_dir=tmp_path_factory.mktemp("gateway"),
        listen_port=free_port(),
        cors_origins=["http://localhost:5173"],
    )
    try:
        yield gateway
    finally:
        gateway.stop()
