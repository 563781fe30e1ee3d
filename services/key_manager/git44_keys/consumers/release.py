"""Key releases: a worker is done with a lease, with this outcome.

A release goes to the queue of the replica that granted the lease (it holds the lease
in memory, ADR 0010): `git44.keys.release.<replica>`, exclusive to this replica's
connection, so it disappears with the replica. A worker whose release finds no such
queue sends it to the shared `git44.keys.release` instead, which every replica also
consumes: there only the outcome is applied (a `limited` key changes state in MongoDB
for every replica), since the lease's slot went with its replica.
"""

from __future__ import annotations

import logging

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from git44_common.amqp import (
    Consumer,
    RejectMessage,
    Topology,
    keys_release_routing_key,
    start_consumer,
)
from git44_common.contracts import KeyRelease
from git44_keys.pool import KeyPool

log = logging.getLogger(__name__)


async def start_replica_release_consumer(
    channel: AbstractChannel, topology: Topology, pool: KeyPool, *, prefetch: int
) -> Consumer[KeyRelease]:
    """Declare this replica's own release queue and consume it."""

    async def handle(release: KeyRelease, message: AbstractIncomingMessage) -> None:
        try:
            await pool.release(release)
        except Exception as exc:
            if not message.redelivered:
                raise  # requeued: tried once more
            # No dead-letter queue for a replica's own queue: the lease expires anyway.
            raise RejectMessage(f"dropping release {release.lease_id}: {exc!r}") from exc

    await channel.set_qos(prefetch_count=prefetch)
    queue = await channel.declare_queue(
        topology.keys_replica_release_queue(pool.replica_id), exclusive=True
    )
    await queue.bind(topology.keys_exchange, keys_release_routing_key(pool.replica_id))
    consumer = Consumer(queue, handle, KeyRelease)
    await consumer.start()
    return consumer


async def start_shared_release_consumer(
    channel: AbstractChannel, topology: Topology, pool: KeyPool, *, prefetch: int
) -> Consumer[KeyRelease]:
    """Consume the shared queue; a failing handler requeues (the delivery limit
    dead-letters)."""

    async def handle(release: KeyRelease, _message: AbstractIncomingMessage) -> None:
        await pool.release(release)

    return await start_consumer(
        channel, topology.keys_release_queue, handle, model=KeyRelease, prefetch=prefetch
    )
