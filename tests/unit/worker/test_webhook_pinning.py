"""Webhook delivery connects to the address it checked (DNS rebinding), under the name
it checked it for."""

from __future__ import annotations

import asyncio
from collections.abc import AsyncIterator

import pytest

from git44_worker import webhooks
from git44_worker.webhooks import WebhookSender, new_webhook_secret, pin_to_address


def test_an_https_url_is_pinned_with_its_name_kept_for_host_and_tls() -> None:
    pinned = pin_to_address("https://hooks.example.com:8443/in?x=1", "203.0.113.7")
    assert pinned.url == "https://203.0.113.7:8443/in?x=1"
    assert pinned.headers == {"host": "hooks.example.com:8443"}
    assert pinned.extensions == {"sni_hostname": "hooks.example.com"}


def test_an_ipv6_address_is_bracketed_and_plain_http_has_no_server_name() -> None:
    pinned = pin_to_address("http://hooks.example.com", "2001:db8::1")
    assert pinned.url == "http://[2001:db8::1]/"
    assert pinned.headers == {"host": "hooks.example.com"}
    assert pinned.extensions == {}


class Receiver:
    """A minimal HTTP server on 127.0.0.1 that records each request's Host header."""

    def __init__(self) -> None:
        self.hosts: list[str] = []
        self.port = 0

    async def handle(self, reader: asyncio.StreamReader, writer: asyncio.StreamWriter) -> None:
        head = (await reader.readuntil(b"\r\n\r\n")).decode("latin-1")
        headers = dict(line.split(": ", 1) for line in head.split("\r\n")[1:] if ": " in line)
        await reader.readexactly(int(headers.get("content-length", "0")))
        self.hosts.append(headers.get("host", ""))
        writer.write(b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n")
        await writer.drain()
        writer.close()


@pytest.fixture
async def receiver() -> AsyncIterator[Receiver]:
    receiver = Receiver()
    server = await asyncio.start_server(receiver.handle, "127.0.0.1", 0)
    receiver.port = server.sockets[0].getsockname()[1]
    async with server:
        yield receiver


async def test_the_request_goes_to_the_checked_address_not_a_second_lookup(
    receiver: Receiver, monkeypatch: pytest.MonkeyPatch
) -> None:
    """`hooks.rebind.test` does not resolve here: only the checked address can be used.
    The first address refuses the connection, so the next is tried."""
    lookups: list[str] = []

    async def resolve(host: str, *, allow_private: bool = False) -> list[str]:
        lookups.append(host)
        return ["::1", "127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve_public_addresses", resolve)
    sender = WebhookSender(timeout=5, allow_private=True)
    url = f"http://hooks.rebind.test:{receiver.port}/in"
    try:
        result = await sender.send(url, secret=new_webhook_secret(), msg_id="m1", body="{}")
    finally:
        await sender.aclose()
    assert (result.status_code, result.error) == (204, None)
    assert lookups == ["hooks.rebind.test"]
    assert receiver.hosts == [f"hooks.rebind.test:{receiver.port}"]


async def test_a_destination_that_accepts_no_connection_is_a_failed_attempt(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    async def resolve(host: str, *, allow_private: bool = False) -> list[str]:
        return ["127.0.0.1"]

    monkeypatch.setattr(webhooks, "resolve_public_addresses", resolve)
    sender = WebhookSender(timeout=5, allow_private=True)
    try:
        result = await sender.send(
            "http://hooks.rebind.test:9/in", secret=new_webhook_secret(), msg_id="m", body="{}"
        )
    finally:
        await sender.aclose()
    assert (result.status_code, result.error) == (None, "ConnectError")
