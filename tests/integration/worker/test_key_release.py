"""A key release reaches the key-manager replica that granted the lease (ADR 0010): its
own queue while it lives, the shared queue once it is gone."""

from __future__ import annotations

import json
from collections.abc import AsyncIterator
from datetime import timedelta

import pytest
from aio_pika.abc import AbstractQueue, AbstractRobustConnection

from git44_common.amqp import Publisher, RpcClient, Topology, keys_release_routing_key
from git44_common.clock import utc_now
from git44_common.contracts import KeyLease, ReleaseOutcome
from git44_worker.key_lease import KeyLeaser

pytestmark = pytest.mark.integration


@pytest.fixture
async def leaser(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[KeyLeaser]:
    publisher = await Publisher.open(amqp_connection, topology)
    rpc = RpcClient(await amqp_connection.channel(), queue_name=topology.keys_rpc_queue)
    yield KeyLeaser(
        rpc=rpc,
        publisher=publisher,
        worker_id="w1",
        acquire_timeout=1,
        wait_for_key_seconds=0,
        unavailable_delay=1,
        max_swaps=1,
    )
    await rpc.close()
    await publisher.close()


@pytest.fixture
async def replica_queue(
    amqp_connection: AbstractRobustConnection, topology: Topology
) -> AsyncIterator[AbstractQueue]:
    """What replica "r1" declares: its own exclusive queue."""
    channel = await amqp_connection.channel()
    queue = await channel.declare_queue(topology.keys_replica_release_queue("r1"), exclusive=True)
    await queue.bind(topology.keys_exchange, keys_release_routing_key("r1"))
    yield queue
    await channel.close()


def lease_from(replica_id: str | None) -> KeyLease:
    return KeyLease(
        key_id="k1",
        api_key="secret-key-1234",
        lease_id=f"lease-of-{replica_id}",
        lease_expires_at=utc_now() + timedelta(seconds=60),
        replica_id=replica_id,
    )


async def lease_ids(queue: AbstractQueue) -> list[str]:
    found = []
    while (message := await queue.get(no_ack=True, fail=False)) is not None:
        found.append(json.loads(message.body)["lease_id"])
    return found


async def test_a_release_goes_to_the_granting_replica_else_to_the_shared_queue(
    leaser: KeyLeaser,
    replica_queue: AbstractQueue,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    for replica_id in ("r1", "gone", None):
        await leaser.release(
            lease_from(replica_id), outcome=ReleaseOutcome.LIMITED, status_code=429, job_id="j1"
        )
    channel = await amqp_connection.channel()
    shared = await channel.get_queue(topology.keys_release_queue)
    assert await lease_ids(replica_queue) == ["lease-of-r1"]
    # a gone replica's queue went with it: any replica applies the outcome from here
    assert await lease_ids(shared) == ["lease-of-gone", "lease-of-None"]
    await channel.close()
