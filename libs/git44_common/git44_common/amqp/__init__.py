"""AMQP building blocks shared by the services: topology, connection, publish, consume, RPC.

Typical wiring (in a service's lifespan / main)::

    connection = await connect(settings.amqp_url, name="git44-worker")
    topology = Topology()
    async with connection.channel() as channel:
        await declare_topology(channel, topology)
    publisher = await Publisher.open(connection, topology)
    consumer = await start_consumer(
        await connection.channel(), topology.removal_queue, handle_removal,
        model=RemovalRequested, prefetch=settings.worker_concurrency,
    )
"""

from git44_common.amqp.connection import connect, is_connection_open, wait_channel_open
from git44_common.amqp.consumer import Consumer, MessageHandler, message_context, start_consumer
from git44_common.amqp.errors import (
    AmqpError,
    HandlerSignal,
    PublishError,
    PublishNacked,
    PublishTimeout,
    PublishUnroutable,
    RejectMessage,
    RequeueMessage,
    RpcError,
    RpcTimeout,
)
from git44_common.amqp.publisher import Publisher, build_message, tracing_headers
from git44_common.amqp.rpc import DIRECT_REPLY_TO, RpcClient, RpcHandler, RpcServer
from git44_common.amqp.topology import (
    ACCOUNT_DELETED,
    ACCOUNT_NOTICE,
    CALLBACK_RECEIVED,
    JOB_EVENTS,
    KEY_EVENTS,
    KEYS_RELEASE,
    KEYS_RELEASE_DEAD,
    MAIL_DEAD,
    MAIL_DELAY_TIERS,
    MAIL_SEND,
    REMOVAL_DEAD,
    REMOVAL_DELAY_TIERS,
    REMOVAL_REQUESTED,
    WEBHOOK_DEAD,
    WEBHOOK_DELAY_TIERS,
    WEBHOOK_DELIVER,
    QueueFamily,
    Topology,
    declare_topology,
    delete_topology,
    job_event_key,
    key_event_key,
    keys_release_routing_key,
    pick_delay_tier,
)

__all__ = [
    "DIRECT_REPLY_TO",
    "JOB_EVENTS",
    "KEYS_RELEASE",
    "KEYS_RELEASE_DEAD",
    "KEY_EVENTS",
    "MAIL_DEAD",
    "MAIL_DELAY_TIERS",
    "ACCOUNT_DELETED",
    "ACCOUNT_NOTICE",
    "CALLBACK_RECEIVED",
    "MAIL_SEND",
    "REMOVAL_DEAD",
    "REMOVAL_DELAY_TIERS",
    "REMOVAL_REQUESTED",
    "WEBHOOK_DEAD",
    "WEBHOOK_DELAY_TIERS",
    "WEBHOOK_DELIVER",
    "AmqpError",
    "Consumer",
    "HandlerSignal",
    "MessageHandler",
    "PublishError",
    "PublishNacked",
    "PublishTimeout",
    "PublishUnroutable",
    "Publisher",
    "QueueFamily",
    "RejectMessage",
    "RequeueMessage",
    "RpcClient",
    "RpcError",
    "RpcHandler",
    "RpcServer",
    "RpcTimeout",
    "Topology",
    "build_message",
    "connect",
    "declare_topology",
    "delete_topology",
    "is_connection_open",
    "job_event_key",
    "key_event_key",
    "keys_release_routing_key",
    "message_context",
    "pick_delay_tier",
    "start_consumer",
    "tracing_headers",
    "wait_channel_open",
]
