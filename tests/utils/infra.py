"""Where the suite's MongoDB-wire server and RabbitMQ come from.

MongoDB: `MONGODB_URL`, else a testcontainers `mongo` when a Docker engine answers,
else an embedded SecantusDB (`secantusd-py`) started here. RabbitMQ: `AMQP_URL`,
else a testcontainers `rabbitmq` when a Docker engine answers, else the local broker.
"""

from __future__ import annotations

import os
import shutil
from collections.abc import Iterator
from contextlib import contextmanager

from localstack import ManagedProcess, free_port, port_open, secantus_command, wait_for_port

LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SYSTEM_PACKAGES_HINT = "install it with .ci/install-system-packages.sh (Debian packages)"


def docker_engine_answers() -> bool:
    if os.environ.get("GIT44_TESTS_NO_DOCKER") or shutil.which("docker") is None:
        return False
    try:
        import docker

        client = docker.from_env(timeout=3)
        return bool(client.ping())
    except Exception:
        return False


@contextmanager
def embedded_mongo(
    storage: str = ":memory:", *, auth: bool = False
) -> Iterator[tuple[str, ManagedProcess]]:
    """SecantusDB on a free port; `auth`: SCRAM authentication required (its users must
    exist in `storage` already: SecantusDB has no localhost exception)."""
    port = free_port()
    command = secantus_command(port, storage) + (["--auth"] if auth else [])
    proc = ManagedProcess(f"secantus-{port}", command).start()
    try:
        wait_for_port("127.0.0.1", port, timeout=60)
        yield f"mongodb://127.0.0.1:{port}/?directConnection=true", proc
    finally:
        proc.stop()


@contextmanager
def mongo_server() -> Iterator[str]:
    if url := os.environ.get("MONGODB_URL"):
        yield url
        return
    if docker_engine_answers():
        from testcontainers.mongodb import MongoDbContainer

        with MongoDbContainer("mongo:7") as container:
            yield container.get_connection_url()
        return
    with embedded_mongo() as (url, _proc):
        yield url


@contextmanager
def rabbitmq_server() -> Iterator[str]:
    if url := os.environ.get("AMQP_URL"):
        yield url
        return
    if not port_open("127.0.0.1", 5672) and docker_engine_answers():
        from testcontainers.rabbitmq import RabbitMqContainer

        with RabbitMqContainer("rabbitmq:3.13-management") as container:
            params = container.get_connection_params()
            yield f"amqp://guest:guest@{params.host}:{params.port}/"
        return
    if not port_open("127.0.0.1", 5672):
        raise RuntimeError(
            "RabbitMQ is not reachable at 127.0.0.1:5672: start it "
            "(rabbitmq-server -detached) or set AMQP_URL"
        )
    yield LOCAL_AMQP_URL
