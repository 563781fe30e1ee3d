"""key-manager as real processes: the demo keys leased over RabbitMQ from two replicas
(each within its share of every key, ADR 0010), the admin API with masked keys and the
leases of both replicas, metrics, and no plaintext key in its logs."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator, Iterator

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from localstack import DEMO_SCRAPER_KEYS, LocalStack, ManagedProcess, free_port, python_module

from git44_common.amqp import (
    KEYS_RELEASE,
    Publisher,
    PublishUnroutable,
    RpcClient,
    Topology,
    keys_release_routing_key,
)
from git44_common.contracts import (
    KeyAcquireRequest,
    KeyAcquireResult,
    KeyLease,
    KeyRelease,
    ReleaseOutcome,
)
from git44_common.mongo import Database, create_mongo_client
from tests.utils.tokens import TokenIssuer

pytestmark = pytest.mark.e2e

BASE = "/api/admin/scraper-keys"


@pytest.fixture(scope="module")
def second_replica(stack: LocalStack, token_issuer: TokenIssuer) -> Iterator[str]:
    """Another key-manager process on the same database and queues, trusting the test's
    token issuer (so the admin API can be called without the auth service)."""
    port = free_port()
    env = {**stack.service_env(), "JWKS_URL": token_issuer.jwks_url, "KEYS_PORT": str(port)}
    proc = ManagedProcess(
        "key-manager-2", python_module("git44_keys"), env=env, log_dir=stack.data_dir
    )
    stack.processes["key-manager-2"] = proc.start()
    url = f"http://127.0.0.1:{port}"
    proc.wait_http_ok(f"{url}/readyz", timeout=60)
    yield url
    proc.stop()


@pytest.fixture
async def stack_db(stack: LocalStack) -> AsyncIterator[Database]:
    assert stack.mongodb_url is not None
    client = create_mongo_client(stack.mongodb_url, app_name="e2e-keys")
    yield client[stack.mongodb_db]
    await client.close()


@pytest.fixture
async def bus(
    stack: LocalStack, amqp_connection: AbstractRobustConnection
) -> AsyncIterator[tuple[RpcClient, Publisher, Topology]]:
    topology = Topology(namespace=stack.amqp_namespace)
    channel = await amqp_connection.channel()
    publisher = await Publisher.open(amqp_connection, topology)
    rpc = RpcClient(channel, queue_name=topology.keys_rpc_queue)
    yield rpc, publisher, topology
    await rpc.close()
    await publisher.close()
    await channel.close()


async def acquire(rpc: RpcClient) -> KeyAcquireResult:
    request = KeyAcquireRequest(worker_id="e2e", job_id="job-e2e")
    return KeyAcquireResult.model_validate(await rpc.call("acquire", request, timeout=10))


async def release(publisher: Publisher, topology: Topology, lease: KeyLease) -> None:
    """As a worker does: to the replica that granted it, else to the shared queue."""
    message = KeyRelease(lease_id=lease.lease_id, key_id=lease.key_id, outcome=ReleaseOutcome.OK)
    exchange = topology.keys_exchange
    try:
        await publisher.publish(exchange, keys_release_routing_key(lease.replica_id), message)
    except PublishUnroutable:
        await publisher.publish(exchange, KEYS_RELEASE, message)


@pytest.fixture(scope="module")
def admin_headers(stack: LocalStack, token_issuer: TokenIssuer) -> dict[str, str]:
    """An admin (and a plain user) in the stack's database; the admin's bearer header."""
    client = create_mongo_client(stack.mongodb_url or "", app_name="e2e-keys")

    async def add_users() -> None:
        await client[stack.mongodb_db]["users"].insert_many(
            [
                {
                    "_id": "e2e-admin",
                    "email": "keys-admin@e2e.test",
                    "role": "admin",
                    "disabled": False,
                },
                {
                    "_id": "e2e-user",
                    "email": "keys-user@e2e.test",
                    "role": "user",
                    "disabled": False,
                },
            ]
        )
        await client.close()

    asyncio.run(add_users())
    return token_issuer.bearer("e2e-admin", role="admin")


async def in_flight(second_replica: str, admin_headers: dict[str, str]) -> dict[str, int]:
    """Leases in flight per key (label), as the admin API sums them over both replicas."""
    async with httpx.AsyncClient(base_url=second_replica, headers=admin_headers) as http:
        keys = (await http.get(BASE)).json()["data"]
    return {key["label"]: key["inFlight"] for key in keys}


async def test_workers_lease_the_demo_keys_from_either_replica(
    stack: LocalStack,
    second_replica: str,
    admin_headers: dict[str, str],
    stack_db: Database,
    bus: tuple[RpcClient, Publisher, Topology],
) -> None:
    rpc, publisher, topology = bus
    # Each replica leases within its share of every key, the key with the most slots
    # free there first: sequential and concurrent acquires spread over the demo keys.
    first = [(await acquire(rpc)).lease for _ in range(3)]
    results = await asyncio.gather(*(acquire(rpc) for _ in range(6)))
    leases = [lease for lease in first if lease is not None]
    leases += [r.lease for r in results if r.lease is not None]
    assert len(leases) == 9
    assert {lease.api_key.get_secret_value() for lease in leases} == set(DEMO_SCRAPER_KEYS)
    assert len({lease.replica_id for lease in leases}) == 2  # both replicas answered
    keys = await stack_db["scraper_api_keys"].find().to_list()
    limit = {key["label"]: key["max_concurrency"] for key in keys}
    for _ in range(100):  # the other replica's leases arrive with its next heartbeat
        counts = await in_flight(second_replica, admin_headers)
        if sum(counts.values()) == 9:
            break
        await asyncio.sleep(0.1)
    assert sum(counts.values()) == 9
    assert all(counts[label] <= limit[label] for label in counts)
    for lease in leases:
        await release(publisher, topology, lease)
    for _ in range(200):  # usage counters are written every KEYS_USAGE_FLUSH_SECONDS
        keys = await stack_db["scraper_api_keys"].find().to_list()
        counts = await in_flight(second_replica, admin_headers)
        if sum(k.get("usage_count", 0) for k in keys) == 9 and not any(counts.values()):
            break
        await asyncio.sleep(0.1)
    assert len(keys) == len(DEMO_SCRAPER_KEYS)  # seeded once by two replicas
    assert set(counts.values()) == {0}
    assert sum(k["usage_count"] for k in keys) == 9


def test_the_admin_api_masks_keys_and_refuses_non_admins(
    second_replica: str, admin_headers: dict[str, str], token_issuer: TokenIssuer
) -> None:
    listing = httpx.get(f"{second_replica}{BASE}", headers=admin_headers)
    assert listing.status_code == 200
    assert {k["maskedKey"] for k in listing.json()["data"]} == {"de…-1", "de…-2", "de…-3"}
    assert not any(key in listing.text for key in DEMO_SCRAPER_KEYS)
    user = token_issuer.bearer("e2e-user")
    assert httpx.get(f"{second_replica}{BASE}", headers=user).status_code == 403
    summary = httpx.get(f"{second_replica}{BASE}/summary", headers=admin_headers).json()
    assert summary["byState"]["active"] == 3


def test_metrics_and_logs(stack: LocalStack, second_replica: str) -> None:
    for base in (stack.url("key-manager"), second_replica):
        metrics = httpx.get(f"{base}/metrics").text
        assert 'git44_keys_by_state{state="active"} 3.0' in metrics
        assert "git44_keys_acquire_total" in metrics
        assert "git44_keys_lease_wait_seconds_bucket" in metrics
        assert "git44_keys_replicas 2.0" in metrics  # each sees the other
    for name in ("key-manager", "key-manager-2"):
        output = stack.processes[name].output()
        assert output  # it does log...
        assert not any(key in output for key in DEMO_SCRAPER_KEYS)  # ...but never a key
