"""Request/reply over RabbitMQ direct reply-to (see docs/adr/0002).

Wire format (JSON only, never pickle): a request's `type` is the method name, its
body the params object, `reply_to` is `amq.rabbitmq.reply-to`, `correlation_id` is
unique per call and `expiration` is the caller's timeout. The reply body is
`{"result": {...}}` or `{"error": {"code": str, "message": str, "details"?: ...}}`.
"""

from __future__ import annotations

import asyncio
import json
import logging
import uuid
from collections.abc import Awaitable, Callable, Mapping
from typing import Any

import aiormq.exceptions
from aio_pika import DeliveryMode, Message
from aio_pika.abc import AbstractChannel, AbstractIncomingMessage, AbstractQueue, ConsumerTag
from pydantic import BaseModel, ValidationError
from pydantic_core import to_json

from git44_common.amqp.connection import wait_channel_open
from git44_common.amqp.consumer import InFlight, message_context
from git44_common.amqp.errors import RpcError, RpcTimeout
from git44_common.amqp.metrics import MESSAGES_PUBLISHED
from git44_common.amqp.publisher import JSON_CONTENT_TYPE, tracing_headers

log = logging.getLogger(__name__)

DIRECT_REPLY_TO = "amq.rabbitmq.reply-to"

RpcHandler = Callable[[dict[str, Any]], Awaitable[Mapping[str, Any] | BaseModel]]


def _encode(payload: Mapping[str, Any] | BaseModel) -> bytes:
    if isinstance(payload, BaseModel):
        return payload.model_dump_json().encode()
    return to_json(dict(payload))


def _decode_object(body: bytes) -> dict[str, Any] | None:
    try:
        value = json.loads(body)
    except ValueError:
        return None
    return value if isinstance(value, dict) else None


def _unwrap_reply(reply: dict[str, Any]) -> dict[str, Any]:
    error = reply.get("error")
    if isinstance(error, dict):
        raise RpcError(
            str(error.get("code", "error")),
            str(error.get("message", "")),
            details=error.get("details"),
        )
    result = reply.get("result")
    if not isinstance(result, dict):
        raise RpcError("bad_reply", "reply has neither a result object nor an error")
    return result


class RpcClient:
    """Calls methods served by an `RpcServer` on `queue_name`.

    Owns the channel's direct reply-to consumer: use one client per channel.
    """

    def __init__(self, channel: AbstractChannel, *, queue_name: str) -> None:
        self._channel = channel
        self._queue_name = queue_name
        self._futures: dict[str, asyncio.Future[dict[str, Any]]] = {}
        self._reply_queue: AbstractQueue | None = None
        self._reply_tag: ConsumerTag | None = None
        self._start_lock = asyncio.Lock()

    async def start(self) -> None:
        """Consume the reply-to pseudo-queue (no-ack); `call` does it on first use."""
        async with self._start_lock:
            if self._reply_tag is not None:
                return
            # Passive declare is allowed for the pseudo-queue; on a robust channel it
            # also lets the consumer be restored after a reconnect.
            self._reply_queue = await self._channel.get_queue(DIRECT_REPLY_TO, ensure=True)
            self._reply_tag = await self._reply_queue.consume(self._on_reply, no_ack=True)

    async def close(self) -> None:
        """Stop consuming replies; calls still waiting fail with `RpcError("closed")`."""
        if self._reply_queue is not None and self._reply_tag is not None:
            await self._reply_queue.cancel(self._reply_tag)
        self._reply_tag = None
        for future in self._futures.values():
            if not future.done():
                future.set_exception(RpcError("closed", "the RPC client was closed"))

    async def call(
        self,
        method: str,
        payload: Mapping[str, Any] | BaseModel,
        *,
        timeout: float,  # noqa: ASYNC109 - it is also the request's expiration on the wire
    ) -> dict[str, Any]:
        """Call `method` and return the reply's result object.

        Raises `RpcTimeout` when no reply arrives in `timeout` seconds (the request
        expires in the queue too, so no server works on it later), `RpcError` when
        the server answered an error.
        """
        await self.start()
        correlation_id = uuid.uuid4().hex
        future: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._futures[correlation_id] = future
        message = self._request(method, payload, correlation_id, timeout)
        try:
            async with asyncio.timeout(timeout):
                await wait_channel_open(self._channel)
                await self._channel.default_exchange.publish(
                    message, self._queue_name, mandatory=False
                )
                MESSAGES_PUBLISHED.labels("rpc_request").inc()
                reply = await future
        except TimeoutError as exc:
            raise RpcTimeout(method, timeout) from exc
        finally:
            self._futures.pop(correlation_id, None)  # a late reply is then dropped
        return _unwrap_reply(reply)

    def _request(
        self,
        method: str,
        payload: Mapping[str, Any] | BaseModel,
        correlation_id: str,
        timeout: float,
    ) -> Message:
        return Message(
            body=_encode(payload),
            content_type=JSON_CONTENT_TYPE,
            delivery_mode=DeliveryMode.NOT_PERSISTENT,
            type=method,
            correlation_id=correlation_id,
            reply_to=DIRECT_REPLY_TO,
            expiration=timeout,
            headers=tracing_headers(),
        )

    async def _on_reply(self, message: AbstractIncomingMessage) -> None:
        future = self._futures.get(message.correlation_id or "")
        if future is None or future.done():
            log.debug("dropping late or unknown RPC reply %s", message.correlation_id)
            return
        reply = _decode_object(message.body)
        if reply is None:
            future.set_exception(RpcError("bad_reply", "reply is not a JSON object"))
        else:
            future.set_result(reply)


class RpcServer:
    """Serves `handlers` (method name → async handler of the params dict) on a queue.

    A handler's exception becomes an error reply and never stops the server; raise
    `RpcError(code, message)` to choose the code the caller sees.
    """

    def __init__(
        self,
        channel: AbstractChannel,
        *,
        queue_name: str,
        handlers: Mapping[str, RpcHandler],
        prefetch: int = 10,
    ) -> None:
        self._channel = channel
        self._queue_name = queue_name
        self._handlers = dict(handlers)
        self._prefetch = prefetch
        self._queue: AbstractQueue | None = None
        self._tag: ConsumerTag | None = None
        self._in_flight = InFlight()

    async def start(self) -> None:
        """Set QoS and start consuming requests (the queue must exist)."""
        await self._channel.set_qos(prefetch_count=self._prefetch)
        self._queue = await self._channel.get_queue(self._queue_name, ensure=True)
        self._tag = await self._queue.consume(self._on_request)

    async def close(self, *, grace: float | None = None) -> None:
        """Stop taking requests and wait for the ones being handled (up to `grace` s)."""
        if self._queue is not None and self._tag is not None:
            await self._queue.cancel(self._tag)
        self._tag = None
        await self._in_flight.drain(grace)

    async def _on_request(self, message: AbstractIncomingMessage) -> None:
        with self._in_flight.track(), message_context(message):
            reply = await self._handle(message)
            await self._reply_and_ack(message, reply)

    async def _reply_and_ack(self, message: AbstractIncomingMessage, reply: dict[str, Any]) -> None:
        try:
            if message.reply_to:
                await self._send_reply(message, reply)
            await message.ack()
        except (aiormq.exceptions.AMQPError, aiormq.exceptions.ChannelInvalidStateError):
            log.warning("could not reply to RPC %s", message.correlation_id, exc_info=True)

    async def _send_reply(self, request: AbstractIncomingMessage, reply: dict[str, Any]) -> None:
        message = Message(
            body=to_json(reply),
            content_type=JSON_CONTENT_TYPE,
            delivery_mode=DeliveryMode.NOT_PERSISTENT,
            correlation_id=request.correlation_id,
        )
        # Not mandatory: a caller that gave up (or died) simply does not get it.
        await self._channel.default_exchange.publish(
            message, request.reply_to or "", mandatory=False
        )
        MESSAGES_PUBLISHED.labels("rpc_reply").inc()

    async def _handle(self, message: AbstractIncomingMessage) -> dict[str, Any]:
        method = message.type or ""
        handler = self._handlers.get(method)
        if handler is None:
            return RpcError("unknown_method", f"no method {method!r}").to_envelope()
        params = _decode_object(message.body)
        if params is None:
            return RpcError("bad_request", "params must be a JSON object").to_envelope()
        try:
            result = await handler(params)
        except RpcError as exc:
            return exc.to_envelope()
        except ValidationError as exc:
            details = json.loads(exc.json(include_input=False, include_url=False))
            return RpcError(
                "invalid_params", "params failed validation", details=details
            ).to_envelope()
        except Exception:
            log.exception("RPC handler %r failed", method)
            return RpcError("internal_error", f"{method!r} failed").to_envelope()
        if isinstance(result, BaseModel):
            return {"result": result.model_dump(mode="json")}
        return {"result": dict(result)}
