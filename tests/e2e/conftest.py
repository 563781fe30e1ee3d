"""The e2e stack: simulator and the four services as real processes on free ports,
sharing the suite's MongoDB-wire server and RabbitMQ, each stack in its own database
and AMQP namespace (deleted afterwards)."""

from __future__ import annotations

from collections.abc import Iterator

import pytest
from localstack import LocalStack

from tests.utils.stack import running_stack


@pytest.fixture(scope="module")
def stack(
    mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    with running_stack(
        mongo_url=mongo_url, amqp_url=amqp_url, data_dir=tmp_path_factory.mktemp("stack")
    ) as local:
        yield local
