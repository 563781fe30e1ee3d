"""The containers the suite starts where a Docker engine answers (tests/utils/infra.py),
checked where none does: the same MongoDB and RabbitMQ as docker-compose.yml, mongod as
a replica set that is initiated before any test connects (transactions need one), and
the URLs the fixtures hand out."""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from typing import Any
from urllib.parse import parse_qs, urlsplit

import pytest

from tests.utils import infra
from tests.utils.infra import ContainerSpec


def test_mongodb_is_compose_s_server_as_a_replica_set(compose: dict[str, Any]) -> None:
    spec = infra.mongo_container_spec()
    mongo = compose["services"]["mongo"]
    assert spec.image == mongo["image"] == "mongo:7.0"
    assert spec.command[0] == "mongod"
    replica_set = spec.command[spec.command.index("--replSet") + 1]
    assert replica_set == mongo["command"][mongo["command"].index("--replSet") + 1] == "rs0"
    assert "--bind_ip_all" in spec.command  # reachable through the container's port
    assert spec.port == 27017


def test_the_replica_set_has_one_member_and_clients_connect_directly() -> None:
    config = infra.replica_set_config()
    assert config["_id"] == "rs0"
    assert [member["_id"] for member in config["members"]] == [0]
    url = urlsplit(infra.mongo_container_url("localhost", 32768))
    assert url.netloc == "localhost:32768"
    # the member's own name (127.0.0.1 inside the container) is never dialled
    assert parse_qs(url.query) == {"directConnection": ["true"]}


def test_rabbitmq_is_compose_s_4_x(compose: dict[str, Any]) -> None:
    spec = infra.rabbitmq_container_spec()
    assert spec.image == compose["services"]["rabbitmq"]["image"]
    assert spec.image.startswith("rabbitmq:4.")
    assert spec.command == ()  # the image's own entrypoint and server
    assert spec.port == 5672
    user, password = spec.env["RABBITMQ_DEFAULT_USER"], spec.env["RABBITMQ_DEFAULT_PASS"]
    assert infra.rabbitmq_container_url("localhost", 32769) == (
        f"amqp://{user}:{password}@localhost:32769/"
    )


def test_each_container_names_the_log_line_it_waits_for() -> None:
    assert infra.mongo_container_spec().ready_log == "Waiting for connections"
    assert infra.rabbitmq_container_spec().ready_log == "Server startup complete"


@pytest.fixture
def docker_here(monkeypatch: pytest.MonkeyPatch) -> list[str]:
    """A Docker engine that answers, containers that start at once on port 40000, and
    no local broker or server settings: what the suite does then, without Docker."""
    events: list[str] = []

    @contextmanager
    def started(spec: ContainerSpec) -> Iterator[tuple[str, int]]:
        events.append(f"start {spec.image}")
        yield "localhost", 40000
        events.append(f"stop {spec.image}")

    monkeypatch.delenv("MONGODB_URL", raising=False)
    monkeypatch.delenv("AMQP_URL", raising=False)
    monkeypatch.setattr(infra, "docker_engine_answers", lambda: True)
    monkeypatch.setattr(infra, "port_open", lambda host, port, timeout=0.5: False)
    monkeypatch.setattr(infra, "started_container", started)
    monkeypatch.setattr(infra, "initiate_replica_set", lambda url: events.append(f"rs {url}"))
    return events


def test_with_docker_mongodb_is_initiated_before_the_suite_gets_its_url(
    docker_here: list[str],
) -> None:
    with infra.mongo_server() as url:
        assert url == "mongodb://localhost:40000/?directConnection=true"
        assert docker_here == ["start mongo:7.0", f"rs {url}"]
    assert docker_here[-1] == "stop mongo:7.0"


def test_with_docker_and_no_local_broker_rabbitmq_4_is_started(docker_here: list[str]) -> None:
    with infra.rabbitmq_server() as url:
        assert url == "amqp://guest:guest@localhost:40000/"
        assert docker_here == ["start rabbitmq:4.1-management"]
    assert docker_here == ["start rabbitmq:4.1-management", "stop rabbitmq:4.1-management"]
