"""Where the suite's MongoDB-wire server and RabbitMQ come from.

MongoDB: `MONGODB_URL`, else a testcontainers `mongo:7.0` started as a one-member
replica set (transactions need one) when a Docker engine answers, else an embedded
SecantusDB (`secantusd-py`) started here. RabbitMQ: `AMQP_URL`, else a testcontainers
`rabbitmq:4.1-management` when a Docker engine answers and no local broker listens,
else the local broker.

What each container runs is a `ContainerSpec` built by a pure function
(`mongo_container_spec`, `rabbitmq_container_spec`, `replica_set_config`), so
tests/unit/test_infra_containers.py checks it on machines without Docker — CI's.
"""

from __future__ import annotations

import os
import shutil
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass, field
from typing import Any

from localstack import ManagedProcess, free_port, port_open, secantus_command, wait_for_port

LOCAL_AMQP_URL = "amqp://guest:guest@127.0.0.1:5672/"
SYSTEM_PACKAGES_HINT = "install it with .ci/install-system-packages.sh (Debian packages)"
MONGO_IMAGE = "mongo:7.0"  # docker-compose.yml's
MONGO_REPLICA_SET = "rs0"
RABBITMQ_IMAGE = "rabbitmq:4.1-management"  # docker-compose.yml's
PRIMARY_TIMEOUT_SECONDS = 60.0


@dataclass(frozen=True, kw_only=True)
class ContainerSpec:
    """What a testcontainer runs: its image, the arguments after the image's entrypoint,
    its environment, the port the suite connects to, and the log line printed once it
    serves."""

    image: str
    command: tuple[str, ...] = ()
    env: dict[str, str] = field(default_factory=dict)
    port: int
    ready_log: str


def mongo_container_spec() -> ContainerSpec:
    """mongod as the member of a replica set (initiated after start), no authentication:
    the suite's databases are throwaway and SecantusDB has none either."""
    return ContainerSpec(
        image=MONGO_IMAGE,
        command=("mongod", "--replSet", MONGO_REPLICA_SET, "--bind_ip_all"),
        port=27017,
        ready_log="Waiting for connections",
    )


def replica_set_config(*, member_host: str = "127.0.0.1:27017") -> dict[str, Any]:
    """`replSetInitiate`'s document: one member, named as mongod reaches itself. The
    suite connects with directConnection=true, so clients never use that name."""
    return {"_id": MONGO_REPLICA_SET, "members": [{"_id": 0, "host": member_host}]}


def mongo_container_url(host: str, port: int) -> str:
    return f"mongodb://{host}:{port}/?directConnection=true"


def rabbitmq_container_spec() -> ContainerSpec:
    """The image's own entrypoint and guest account (its config lets guest in from
    outside the container), management and prometheus plugins as compose has them."""
    return ContainerSpec(
        image=RABBITMQ_IMAGE,
        env={"RABBITMQ_DEFAULT_USER": "guest", "RABBITMQ_DEFAULT_PASS": "guest"},
        port=5672,
        ready_log="Server startup complete",
    )


def rabbitmq_container_url(host: str, port: int) -> str:
    return f"amqp://guest:guest@{host}:{port}/"


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
def started_container(spec: ContainerSpec) -> Iterator[tuple[str, int]]:
    """`spec` running under testcontainers; yields the host and port to connect to."""
    from testcontainers.core.container import DockerContainer
    from testcontainers.core.wait_strategies import LogMessageWaitStrategy

    container = DockerContainer(spec.image, env=dict(spec.env), ports=[spec.port])
    if spec.command:
        container.with_command(list(spec.command))
    container.waiting_for(LogMessageWaitStrategy(spec.ready_log))
    with container:
        yield container.get_container_host_ip(), int(container.get_exposed_port(spec.port))


def initiate_replica_set(url: str, *, timeout: float = PRIMARY_TIMEOUT_SECONDS) -> None:
    """Initiate the one-member replica set at `url` (once) and wait until it is primary."""
    from pymongo import MongoClient
    from pymongo.errors import OperationFailure

    client: MongoClient[dict[str, Any]] = MongoClient(url, serverSelectionTimeoutMS=10_000)
    try:
        try:
            client.admin.command("replSetInitiate", replica_set_config())
        except OperationFailure as error:
            if error.code != 23:  # AlreadyInitialized
                raise
        deadline = time.monotonic() + timeout
        while not client.admin.command("hello").get("isWritablePrimary"):
            if time.monotonic() > deadline:
                raise TimeoutError(f"the replica set at {url} has no primary after {timeout}s")
            time.sleep(0.2)
    finally:
        client.close()


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
        with started_container(mongo_container_spec()) as (host, port):
            url = mongo_container_url(host, port)
            initiate_replica_set(url)
            yield url
        return
    with embedded_mongo() as (url, _proc):
        yield url


@contextmanager
def rabbitmq_server() -> Iterator[str]:
    if url := os.environ.get("AMQP_URL"):
        yield url
        return
    if not port_open("127.0.0.1", 5672) and docker_engine_answers():
        with started_container(rabbitmq_container_spec()) as (host, port):
            yield rabbitmq_container_url(host, port)
        return
    if not port_open("127.0.0.1", 5672):
        raise RuntimeError(
            "RabbitMQ is not reachable at 127.0.0.1:5672: start it "
            "(rabbitmq-server -detached) or set AMQP_URL"
        )
    yield LOCAL_AMQP_URL
