"""Publishing contract messages with publisher confirms.

`Publisher.publish` returns only once the broker has taken responsibility for the
message (basic.ack), and raises a `PublishError` otherwise, so a caller that marks a
job `published` after it can trust the mark (DESIGN section 5, the outbox relay
re-publishes anything that never got that far).
"""

from __future__ import annotations

import asyncio
import contextlib
import logging
import uuid
from collections.abc import Mapping
from typing import Any

import aiormq.abc
import aiormq.exceptions
from aio_pika import DeliveryMode, Message
from aio_pika.abc import (
    AbstractChannel,
    AbstractConnection,
    AbstractExchange,
    AbstractRobustChannel,
    DateType,
)
from aiormq.abc import DeliveredMessage
from pydantic import BaseModel

from git44_common.amqp.connection import wait_channel_open
from git44_common.amqp.errors import (
    PublishError,
    PublishNacked,
    PublishTimeout,
    PublishUnroutable,
)
from git44_common.amqp.metrics import MESSAGES_PUBLISHED
from git44_common.amqp.topology import QueueFamily, Topology
from git44_common.clock import utc_now
from git44_common.correlation import CORRELATION_HEADER, TRACEPARENT_HEADER, get_correlation_id
from git44_common.tracing import traceparent as current_traceparent

log = logging.getLogger(__name__)

JSON_CONTENT_TYPE = "application/json"


def tracing_headers(headers: Mapping[str, Any] | None = None) -> dict[str, Any]:
    """`headers` plus x-correlation-id and traceparent from the current context (with
    tracing on, aio-pika's instrumentation replaces the traceparent by its publish
    span's)."""
    result = dict(headers or {})
    if (correlation_id := get_correlation_id()) is not None:
        result.setdefault(CORRELATION_HEADER, correlation_id)
    if (traceparent := current_traceparent()) is not None:
        result.setdefault(TRACEPARENT_HEADER, traceparent)
    return result


def build_message(
    payload: BaseModel,
    *,
    message_id: str | None = None,
    headers: Mapping[str, Any] | None = None,
    persistent: bool = True,
    expiration: DateType = None,
) -> Message:
    """A JSON AMQP message for `payload`, typed with its class name, tracing headers set."""
    return Message(
        body=payload.model_dump_json().encode(),
        content_type=JSON_CONTENT_TYPE,
        content_encoding="utf-8",
        delivery_mode=DeliveryMode.PERSISTENT if persistent else DeliveryMode.NOT_PERSISTENT,
        type=type(payload).__name__,
        message_id=message_id or uuid.uuid4().hex,
        timestamp=utc_now(),
        headers=tracing_headers(headers),
        expiration=expiration,
    )


class Publisher:
    """Publishes pydantic payloads on a channel opened with `publisher_confirms=True`.

    Exchanges are looked up by name on every publish (no passive declare, no cached
    channel-bound state), so the publisher keeps working after a robust reconnect.
    """

    def __init__(self, channel: AbstractChannel, topology: Topology) -> None:
        if not channel.publisher_confirms:
            raise ValueError("Publisher needs a channel with publisher_confirms=True")
        self._channel = channel
        self._topology = topology
        self._closed = False
        self._renewing = asyncio.Lock()

    @classmethod
    async def open(cls, connection: AbstractConnection, topology: Topology) -> Publisher:
        """A publisher on a new confirming channel of `connection`."""
        return cls(await connection.channel(publisher_confirms=True), topology)

    @property
    def topology(self) -> Topology:
        return self._topology

    async def close(self) -> None:
        """Close the publisher's channel."""
        self._closed = True
        await self._channel.close()

    async def publish(
        self,
        exchange: str,
        routing_key: str,
        payload: BaseModel,
        *,
        message_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
        mandatory: bool = True,
        timeout: float = 10,  # noqa: ASYNC109 - part of the contract: confirm or PublishTimeout
    ) -> None:
        """Publish `payload` persistently and wait for the broker's confirm.

        Raises `PublishNacked`, `PublishUnroutable` (mandatory and no queue bound),
        `PublishTimeout`, or `PublishError` when the channel or connection failed.
        """
        message = build_message(payload, message_id=message_id, headers=headers)
        where = f"{exchange or '<default>'!s}/{routing_key}"
        underlay: list[aiormq.abc.AbstractChannel] = []  # the channel it went out on
        try:
            async with asyncio.timeout(timeout):
                result = await self._send(exchange, routing_key, message, mandatory, underlay)
        except TimeoutError as exc:
            raise PublishTimeout(f"no confirm for {where} within {timeout:g}s") from exc
        except aiormq.exceptions.PublishError as exc:
            raise PublishUnroutable(f"unroutable: {where}") from exc
        except aiormq.exceptions.DeliveryError as exc:
            await self._renew_channel(underlay)
            raise PublishNacked(f"broker nacked {where}") from exc
        except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError) as exc:
            raise PublishError(f"publish to {where} failed: {exc!r}") from exc
        if isinstance(result, DeliveredMessage):
            raise PublishUnroutable(f"unroutable: {where}")
        MESSAGES_PUBLISHED.labels(_kind(exchange, self._topology)).inc()

    async def publish_delayed(
        self,
        family: QueueFamily,
        payload: BaseModel,
        delay_seconds: float,
        *,
        message_id: str | None = None,
        headers: Mapping[str, Any] | None = None,
    ) -> int:
        """Publish `payload` to come back on `family`'s work queue after a delay tier.

        Returns the tier used (the largest <= `delay_seconds`, see
        `Topology.delay_queue_for`); the consumer re-delays any remainder.
        """
        queue, tier = self._topology.delay_queue_for(family, delay_seconds)
        await self.publish("", queue, payload, message_id=message_id, headers=headers)
        return tier

    async def publish_event(
        self,
        routing_key: str,
        event: BaseModel,
        *,
        message_id: str | None = None,
        timeout: float = 10,  # noqa: ASYNC109 - as `publish`
    ) -> None:
        """Publish `event` on the `git44.events` topic exchange.

        Not mandatory: an event nobody subscribes to right now is not an error. The
        event's own `event_id`, when it has one, becomes the message id.
        """
        message_id = message_id or getattr(event, "event_id", None)
        await self.publish(
            self._topology.events_exchange,
            routing_key,
            event,
            message_id=message_id,
            mandatory=False,
            timeout=timeout,
        )

    async def _send(
        self,
        exchange: str,
        routing_key: str,
        message: Message,
        mandatory: bool,
        underlay: list[aiormq.abc.AbstractChannel],
    ) -> object:
        if self._closed:
            raise PublishError("publisher is closed")
        await wait_channel_open(self._channel)
        underlay.append(await self._channel.get_underlay_channel())
        target = await self._exchange(exchange)
        return await target.publish(message, routing_key, mandatory=mandatory)

    async def _renew_channel(self, underlay: list[aiormq.abc.AbstractChannel]) -> None:
        """After a nack, have the robust channel reopen (once per channel, however many
        publishes were nacked on it): a RabbitMQ 3.10 channel whose first publish to a
        quorum queue raced a leader election goes on being nacked for good, while a new
        channel is accepted (rabbitmq-server#9241, fixed in 3.11/3.12; seen in
        `make chaos`'s broker cluster scenario). Publishes in flight on the old channel
        fail as PublishError, which every caller already survives (the outbox)."""
        if not underlay or not isinstance(self._channel, AbstractRobustChannel):
            return
        async with self._renewing:
            if self._channel.is_closed or underlay[0].is_closed:
                return  # already reopened (or reopening) since that publish
            log.warning("broker nacked a publish: reopening the publisher's channel")
            with contextlib.suppress(aiormq.exceptions.AMQPError, RuntimeError):
                await underlay[0].close()

    async def _exchange(self, name: str) -> AbstractExchange:
        if not name:
            return self._channel.default_exchange
        return await self._channel.get_exchange(name, ensure=False)


def _kind(exchange: str, topology: Topology) -> str:
    if not exchange:
        return "delayed"  # the default exchange: straight into a delay queue
    return "event" if exchange == topology.events_exchange else "work"
