"""The e2e stack: simulator and the four services as real processes on free ports,
sharing the suite's MongoDB-wire server and RabbitMQ, each stack in its own database
and AMQP namespace (deleted afterwards)."""

from __future__ import annotations

from tests.utils.stack import stack_fixture

stack = stack_fixture("stack", scope="module")
