"""What a process sends to RabbitMQ (module-level, in Prometheus' default registry)."""

from __future__ import annotations

from prometheus_client import Counter

MESSAGES_PUBLISHED = Counter(
    "git44_amqp_messages_published_total",
    "Messages this process published to RabbitMQ, by kind: work (a queue's exchange), "
    "delayed, event, rpc_request, rpc_reply.",
    ["kind"],
)
