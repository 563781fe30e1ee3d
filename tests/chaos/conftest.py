"""`make chaos`: fixtures and the results table (the harness is `harness.py`)."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.cluster import HAProxy, RabbitCluster, haproxy_binary
from tests.chaos.harness import RABBITMQ_SERVER, RESULTS, PrivateRabbit, table
from tests.utils.infra import SYSTEM_PACKAGES_HINT


def pytest_configure(config: pytest.Config) -> None:
    config.addinivalue_line("markers", "chaos: fault-injection scenario (make chaos)")


def pytest_terminal_summary(terminalreporter: Any) -> None:
    with contextlib.suppress(FileNotFoundError, ValueError, KeyError):
        rows = list(json.loads(RESULTS.read_text())["scenarios"].values())
        terminalreporter.write_line(f"\nchaos results ({RESULTS}):\n" + table(rows))


@pytest.fixture
def private_rabbit(tmp_path: Path) -> Iterator[PrivateRabbit]:
    """A RabbitMQ node of this test only: the outage never touches the shared broker."""
    if not Path(RABBITMQ_SERVER).exists():
        pytest.skip("rabbitmq-server is not installed: no private node for the outage")
    rabbit = PrivateRabbit(tmp_path / "rabbit")
    rabbit.start()
    try:
        yield rabbit
    finally:
        rabbit.stop()
        shutil.rmtree(rabbit.base, ignore_errors=True)


@pytest.fixture
def rabbit_cluster(tmp_path: Path) -> Iterator[RabbitCluster]:
    """Three clustered RabbitMQ nodes of this test only, every node stopped afterwards."""
    if not Path(RABBITMQ_SERVER).exists():
        pytest.skip("rabbitmq-server is not installed: no nodes for the cluster")
    cluster = RabbitCluster(tmp_path / "cluster")
    try:
        cluster.start()
        yield cluster
    finally:
        cluster.stop_all()
        shutil.rmtree(cluster.base, ignore_errors=True)


@pytest.fixture(scope="session")
def haproxy() -> str:
    """Debian's haproxy, the TCP balancer in front of a cluster."""
    binary = haproxy_binary()
    if binary is None:
        pytest.skip(f"haproxy is not installed; {SYSTEM_PACKAGES_HINT}")
    return binary


@pytest.fixture
def cluster_balancer(
    tmp_path: Path, haproxy: str, rabbit_cluster: RabbitCluster
) -> Iterator[HAProxy]:
    """haproxy in front of `rabbit_cluster` (checked for first, so a machine without it
    skips before three nodes boot): the one AMQP address the services get."""
    balancer = HAProxy(tmp_path / "haproxy", rabbit_cluster.ports, haproxy)
    try:
        balancer.start()
        yield balancer
    finally:
        balancer.stop()
