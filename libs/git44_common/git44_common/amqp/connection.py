"""Opening the broker connection every service keeps for its lifetime."""

from __future__ import annotations

import asyncio

import aio_pika
from aio_pika.abc import AbstractChannel, AbstractRobustChannel, AbstractRobustConnection

# Seconds. Short enough that a dead peer (or a silent network partition) is noticed
# within a minute; long enough that a busy event loop does not trip it.
DEFAULT_HEARTBEAT = 30


async def connect(
    url: str,
    *,
    name: str,
    heartbeat: int = DEFAULT_HEARTBEAT,
    connect_timeout: float = 10,
    reconnect_interval: float = 5,
) -> AbstractRobustConnection:
    """Open a robust (self-reconnecting) connection shown as `name` in RabbitMQ.

    Declared exchanges, queues, bindings and consumers are restored after a
    reconnect; in-flight publishes are not replayed (callers see an error).
    """
    return await aio_pika.connect_robust(
        url,
        client_properties={"connection_name": name},
        heartbeat=heartbeat,
        timeout=connect_timeout,
        reconnect_interval=reconnect_interval,
    )


def is_connection_open(connection: AbstractRobustConnection | None) -> bool:
    """True while the connection is up (False during a reconnect or after close); for /readyz."""
    if connection is None or connection.is_closed:
        return False
    return connection.connected.is_set()


async def wait_channel_open(channel: AbstractChannel) -> None:
    """Wait until a robust channel has reopened after a reconnect or channel error.

    A plain channel is returned as is. Bound it with the caller's timeout: a robust
    channel closed on purpose never reopens.
    """
    if not isinstance(channel, AbstractRobustChannel):
        return
    while True:
        await channel.ready()
        if not channel.is_closed:
            return
        # ready() can still be set while the close is being processed; poll briefly.
        await asyncio.sleep(0.05)
