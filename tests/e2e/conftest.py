"""The e2e stack: simulator and the four services as real processes on free ports,
sharing the suite's MongoDB-wire server and RabbitMQ, each stack in its own database
and AMQP namespace."""

from __future__ import annotations

import uuid
from collections.abc import Iterator

import pytest
from localstack import LocalStack


@pytest.fixture(scope="module")
def stack(
    mongo_url: str, amqp_url: str, tmp_path_factory: pytest.TempPathFactory
) -> Iterator[LocalStack]:
    suffix = uuid.uuid4().hex[:10]
    local = LocalStack(
        amqp_url=amqp_url,
        mongodb_url=mongo_url,
        mongodb_db=f"git44_e2e_{suffix}",
        amqp_namespace=f".e{suffix}",
        free_ports=True,
        data_dir=tmp_path_factory.mktemp("stack"),
        extra_env={"GIT44_ENV": "test"},
    )
    try:
        local.start(timeout=60)
        yield local
    finally:
        local.stop()
