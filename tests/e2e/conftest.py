"""The e2e stack: simulator and the four services as real processes on free ports,
sharing the suite's MongoDB-wire server and RabbitMQ, each stack in its own database
and AMQP namespace (deleted afterwards)."""

from __future__ import annotations

from collections.abc import AsyncIterator

import pytest
from localstack import LocalStack

from git44_sim.client import SimControl
from tests.utils.stack import stack_fixture

stack = stack_fixture("stack", scope="module")


@pytest.fixture
async def sim(stack: LocalStack) -> AsyncIterator[SimControl]:
    """The module's simulator, reset (counters, tasks and start-up config) for each test."""
    async with SimControl(stack.url("sim")) as control:
        await control.reset(keep_config=False)
        yield control
