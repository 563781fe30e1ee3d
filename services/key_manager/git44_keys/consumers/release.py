"""`keys.release` messages: a worker is done with a lease, with this outcome."""

from __future__ import annotations

from aio_pika.abc import AbstractChannel, AbstractIncomingMessage

from git44_common.amqp import Consumer, Topology, start_consumer
from git44_common.contracts import KeyRelease
from git44_keys.pool import KeyPool


async def start_release_consumer(
    channel: AbstractChannel, topology: Topology, pool: KeyPool, *, prefetch: int
) -> Consumer[KeyRelease]:
    """Consume releases; a failing handler requeues (the delivery limit dead-letters)."""

    async def handle(release: KeyRelease, _message: AbstractIncomingMessage) -> None:
        await pool.release(release)

    return await start_consumer(
        channel, topology.keys_release_queue, handle, model=KeyRelease, prefetch=prefetch
    )
