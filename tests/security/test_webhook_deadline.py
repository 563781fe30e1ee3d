"""A webhook receiver cannot hold a worker's delivery slot: one overall deadline per
attempt (connect + send + read) and at most 64 KiB of its response read."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator, Callable, Coroutine
from contextlib import asynccontextmanager
from typing import Any

from git44_common.webhook_secrets import new_webhook_secret
from git44_worker.webhooks import MAX_RESPONSE_BYTES, WebhookSender

Handler = Callable[[asyncio.StreamReader, asyncio.StreamWriter], Coroutine[Any, Any, None]]


@asynccontextmanager
async def receiver(handler: Handler) -> AsyncIterator[str]:
    """A raw TCP server on 127.0.0.1 that answers every connection with `handler`."""
    server = await asyncio.start_server(handler, "127.0.0.1", 0)
    port = server.sockets[0].getsockname()[1]
    try:
        yield f"http://127.0.0.1:{port}/hooks"
    finally:
        server.close()


async def _read_request(reader: asyncio.StreamReader) -> None:
    head = await reader.readuntil(b"\r\n\r\n")
    length = next(
        int(line.split(b":")[1])
        for line in head.split(b"\r\n")
        if line.lower().startswith(b"content-length")
    )
    await reader.readexactly(length)


async def test_a_receiver_that_drips_its_answer_is_dropped_at_the_deadline() -> None:
    async def drip(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        await _read_request(reader)
        writer.write(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
        try:
            for _ in range(600):  # one byte every 0.1 s: each read is quick, the whole is not
                writer.write(b".")
                await writer.drain()
                await asyncio.sleep(0.1)
        except (ConnectionError, OSError):
            return  # the sender hung up: what it should do

    sender = WebhookSender(timeout=1.0, allow_private=True)
    try:
        async with receiver(drip) as url:
            started = time.monotonic()
            result = await sender.send(url, secrets=[new_webhook_secret()], msg_id="m", body="{}")
            elapsed = time.monotonic() - started
    finally:
        await sender.aclose()
    assert result.status_code is None
    assert result.error == "deadline exceeded"
    assert elapsed < 2.0, f"the slot was held {elapsed:.1f} s"


async def test_a_receiver_that_answers_without_end_is_read_only_so_far() -> None:
    sent = 0

    async def flood(reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        nonlocal sent
        await _read_request(reader)
        writer.write(
            b"HTTP/1.1 200 OK\r\nContent-Type: text/plain\r\n\r\n"
        )  # no length: to the end
        chunk = b"x" * 65536
        try:
            for _ in range(2000):  # up to 128 MiB, if anyone kept reading
                writer.write(chunk)
                await writer.drain()
                sent += len(chunk)
        except (ConnectionError, OSError):
            return

    sender = WebhookSender(timeout=10.0, allow_private=True)
    try:
        async with receiver(flood) as url:
            result = await sender.send(url, secrets=[new_webhook_secret()], msg_id="m", body="{}")
    finally:
        await sender.aclose()
    assert (result.status_code, result.error) == (200, None)
    # the sender stopped reading after 64 KiB and closed the connection: the receiver could
    # not push more than the socket buffers hold on top of it
    assert MAX_RESPONSE_BYTES == 64 * 1024
    assert sent < 16 * 1024 * 1024, f"the receiver pushed {sent} bytes"
