"""Consuming contract messages with manual acks (after `aio_pika/patterns/master.py`).

Outcome of one delivery:

- body is not valid JSON for `model` → reject without requeue (dead-lettered);
- handler returns → ack;
- handler raises `RejectMessage` → reject without requeue (dead-lettered);
- handler raises `RequeueMessage` or any other exception → nack with requeue (the
  quorum queue's delivery limit dead-letters a message that keeps failing);
- the consumer is cancelled mid-handler → the message is requeued.

A message is never acked unless its handler finished.
"""

from __future__ import annotations

import asyncio
import logging
from collections.abc import Awaitable, Callable, Iterator
from contextlib import contextmanager
from typing import Generic, TypeVar

import aiormq.exceptions
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, ConsumerTag
from pydantic import BaseModel, ValidationError

from git44_common.amqp.errors import RejectMessage, RequeueMessage
from git44_common.correlation import (
    CORRELATION_HEADER,
    TRACEPARENT_HEADER,
    new_correlation_id,
    reset_correlation_id,
    reset_traceparent,
    sanitize_correlation_id,
    sanitize_traceparent,
    set_correlation_id,
    set_traceparent,
)

log = logging.getLogger(__name__)

M = TypeVar("M", bound=BaseModel)
MessageHandler = Callable[[M, AbstractIncomingMessage], Awaitable[None]]


def header_text(message: AbstractIncomingMessage, name: str) -> str | None:
    """A header's value as text (AMQP may deliver strings as bytes), or None."""
    value = (message.headers or {}).get(name)
    if isinstance(value, bytes):
        return value.decode("utf-8", errors="replace")
    return value if isinstance(value, str) else None


@contextmanager
def message_context(message: AbstractIncomingMessage) -> Iterator[str]:
    """Restore the message's correlation id (or a new one) and traceparent meanwhile."""
    correlation_id = (
        sanitize_correlation_id(header_text(message, CORRELATION_HEADER)) or new_correlation_id()
    )
    traceparent = sanitize_traceparent(header_text(message, TRACEPARENT_HEADER))
    correlation_token = set_correlation_id(correlation_id)
    traceparent_token = set_traceparent(traceparent)
    try:
        yield correlation_id
    finally:
        reset_traceparent(traceparent_token)
        reset_correlation_id(correlation_token)


class InFlight:
    """The tasks handling messages right now, so shutdown can wait for them."""

    def __init__(self) -> None:
        self._tasks: set[asyncio.Task[object]] = set()

    def __len__(self) -> int:
        return len(self._tasks)

    @contextmanager
    def track(self) -> Iterator[None]:
        """Count the current task as in flight for the duration of the block."""
        task = asyncio.current_task()
        if task is None:
            yield
            return
        self._tasks.add(task)
        try:
            yield
        finally:
            self._tasks.discard(task)

    async def drain(self, grace: float | None) -> None:
        """Wait for the tracked tasks; cancel those still running after `grace` seconds."""
        if not self._tasks:
            return
        _, still_running = await asyncio.wait(set(self._tasks), timeout=grace)
        for task in still_running:
            task.cancel()  # a cancelled handler's message is requeued by message.process
        if still_running:
            await asyncio.wait(still_running)


class Consumer(Generic[M]):
    """A running subscription of `handler` to one queue; `cancel()` stops it cleanly."""

    def __init__(self, queue: AbstractQueue, handler: MessageHandler[M], model: type[M]) -> None:
        self._queue = queue
        self._handler = handler
        self._model = model
        self._tag: ConsumerTag | None = None
        self._stopping = False
        self._in_flight = InFlight()

    @property
    def queue_name(self) -> str:
        return self._queue.name

    @property
    def in_flight(self) -> int:
        """How many messages are being handled right now."""
        return len(self._in_flight)

    async def start(self) -> None:
        """Begin consuming (manual acks)."""
        self._stopping = False
        self._tag = await self._queue.consume(self._on_message)

    async def cancel(self, *, grace: float | None = None) -> None:
        """Stop consuming, then wait for in-flight handlers (cancelled after `grace` s)."""
        self._stopping = True
        tag, self._tag = self._tag, None
        if tag is not None:
            await self._queue.cancel(tag)
        await self._in_flight.drain(grace)

    async def _on_message(self, message: AbstractIncomingMessage) -> None:
        if self._stopping:
            # Delivered between basic.cancel and its ok: give it back untouched.
            await message.nack(requeue=True)
            return
        try:
            with self._in_flight.track(), message_context(message):
                await self._dispatch(message)
        except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError):
            log.warning(
                "could not settle message %s; the broker will redeliver it",
                message.message_id,
                exc_info=True,
            )

    async def _dispatch(self, message: AbstractIncomingMessage) -> None:
        try:
            payload = self._model.model_validate_json(message.body)
        except ValidationError as exc:
            log.warning(
                "rejecting malformed %s message %s: %s",
                self._model.__name__,
                message.message_id,
                exc.errors(include_input=False),
            )
            await message.reject(requeue=False)
            return
        async with message.process(requeue=True, ignore_processed=True):
            await self._run_handler(payload, message)

    async def _run_handler(self, payload: M, message: AbstractIncomingMessage) -> None:
        try:
            await self._handler(payload, message)
        except RejectMessage as exc:
            log.warning("handler rejected message %s: %s", message.message_id, exc)
            await message.reject(requeue=False)
        except RequeueMessage as exc:
            log.info("handler requeued message %s: %s", message.message_id, exc)
            await message.nack(requeue=True)
        except Exception:
            log.exception("handler failed on message %s; requeueing", message.message_id)
            await message.nack(requeue=True)


async def start_consumer(
    channel: AbstractChannel,
    queue_name: str,
    handler: MessageHandler[M],
    *,
    model: type[M],
    prefetch: int,
) -> Consumer[M]:
    """Consume `queue_name` with `handler(parsed model, message)`, `prefetch` at a time.

    Sets the channel's QoS, so give each consumer its own channel. The queue must
    already exist (`declare_topology`).
    """
    await channel.set_qos(prefetch_count=prefetch)
    queue = await channel.get_queue(queue_name, ensure=True)
    consumer = Consumer(queue, handler, model)
    await consumer.start()
    return consumer
