"""`make chaos`: fixtures and the results table (the harness is `harness.py`)."""

from __future__ import annotations

import contextlib
import json
import shutil
from collections.abc import Iterator
from pathlib import Path
from typing import Any

import pytest

from tests.chaos.harness import RABBITMQ_SERVER, RESULTS, PrivateRabbit, table


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
