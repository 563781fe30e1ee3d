"""Webhook payloads, Standard Webhooks signatures, and the delivery HTTP call.

Signed with the `standardwebhooks` library (the spec's reference implementation):
`webhook-id` is the job event's id (stable across retries, so receivers can drop
duplicates), `webhook-timestamp` the send time in Unix seconds, `webhook-signature`
`v1,<base64 HMAC-SHA256 of "<id>.<timestamp>.<body>">` keyed with the user's secret.

The destination is validated again and resolved right before each attempt: a callback
host re-pointed at a private address after submission is refused (SSRF). The request
then goes to an address that was checked — the URL's host replaced by it, `Host` and
TLS SNI/certificate name kept — so a second lookup cannot be answered differently
(DNS rebinding).
"""

from __future__ import annotations

import asyncio
import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from typing import Any
from urllib.parse import SplitResult, urlsplit

import httpx
from standardwebhooks import Webhook

from git44_common.clock import utc_now
from git44_common.exceptions import InvalidLink
from git44_common.links import resolve_public_addresses, validate_callback_url
from git44_common.webhook_endpoints import signature_header

MAX_ERROR_LENGTH = 200
# what is read of a receiver's answer before the connection is dropped (only its status
# matters): a receiver streaming without end cannot fill the worker's memory
MAX_RESPONSE_BYTES = 64 * 1024


def signed_headers(
    *, secrets: Sequence[str], msg_id: str, body: str, now: datetime
) -> dict[str, str]:
    """The three Standard Webhooks headers (plus the content type) for `body`: one
    `v1,` signature per secret (two during an endpoint's secret rotation)."""
    signatures = [Webhook(secret).sign(msg_id, now, body) for secret in secrets]
    return {
        "content-type": "application/json",
        "webhook-id": msg_id,
        "webhook-timestamp": str(int(now.timestamp())),
        "webhook-signature": signature_header(signatures),
    }


@dataclass(frozen=True)
class DeliveryResult:
    status_code: int | None
    latency_ms: float
    error: str | None

    @property
    def delivered(self) -> bool:
        return self.status_code is not None and 200 <= self.status_code < 300


@dataclass(frozen=True)
class PinnedRequest:
    """A request for `url` sent to one checked address of its host."""

    url: str
    headers: dict[str, str]
    extensions: dict[str, Any]


def pin_to_address(url: str, address: str) -> PinnedRequest:
    """`url` with its host replaced by `address`; the original host stays the `Host`
    header and, for https, the TLS server name (SNI and certificate check)."""
    parts = urlsplit(url)
    host = parts.hostname or ""
    literal = f"[{address}]" if ":" in address else address
    netloc = literal if parts.port is None else f"{literal}:{parts.port}"
    pinned = SplitResult(parts.scheme, netloc, parts.path or "/", parts.query, "").geturl()
    host_header = parts.netloc.rsplit("@", 1)[-1]
    extensions = {"sni_hostname": host} if parts.scheme == "https" else {}
    # A pool keys connections by address, not by name: never reuse one for another name.
    return PinnedRequest(pinned, {"host": host_header, "connection": "close"}, extensions)


class WebhookSender:
    """POSTs signed webhook bodies with a timeout, never following redirects.

    Connections are not kept alive (`Connection: close`, whatever the transport): each
    one is opened to an address checked for this attempt, under the name it was checked
    for.
    """

    def __init__(
        self,
        *,
        timeout: float,
        allow_private: bool,
        transport: httpx.AsyncBaseTransport | None = None,
    ) -> None:
        self._allow_private = allow_private
        # one overall deadline per attempt: httpx's timeout is per operation (a receiver
        # sending a byte every few seconds would never trip it)
        self._deadline = timeout
        self._http = httpx.AsyncClient(
            timeout=timeout,
            transport=transport,
            follow_redirects=False,
            trust_env=False,
        )

    async def aclose(self) -> None:
        await self._http.aclose()

    async def check_destination(self, url: str) -> list[str]:
        """The addresses to connect to; InvalidLink unless `url` is (still) an allowed,
        publicly resolving URL."""
        validate_callback_url(url, allow_private=self._allow_private)
        return await resolve_public_addresses(
            urlsplit(url).hostname or "", allow_private=self._allow_private
        )

    async def send(
        self, url: str, *, secrets: Sequence[str], msg_id: str, body: str
    ) -> DeliveryResult:
        """One delivery attempt, within the deadline (resolve, connect, send, read);
        never raises for network or HTTP failures."""
        started = time.perf_counter()
        try:
            async with asyncio.timeout(self._deadline):
                addresses = await self.check_destination(url)
                headers = signed_headers(secrets=secrets, msg_id=msg_id, body=body, now=utc_now())
                status = await self._post(url, addresses, headers, body)
        except TimeoutError:
            return DeliveryResult(None, _ms_since(started), "deadline exceeded")
        except InvalidLink as exc:
            return DeliveryResult(None, _ms_since(started), str(exc)[:MAX_ERROR_LENGTH])
        except httpx.HTTPError as exc:
            return DeliveryResult(None, _ms_since(started), type(exc).__name__)
        error = None if 200 <= status < 300 else f"HTTP {status}"
        return DeliveryResult(status, _ms_since(started), error)

    async def _post(
        self, url: str, addresses: list[str], headers: dict[str, str], body: str
    ) -> int:
        """POST to the first address that accepts a connection (as a resolver-driven
        client would); a refused connection sent nothing, so the next may be tried."""
        for address in addresses[:-1]:
            try:
                return await self._post_to(url, address, headers, body)
            except httpx.ConnectError:
                continue
        return await self._post_to(url, addresses[-1], headers, body)

    async def _post_to(self, url: str, address: str, headers: dict[str, str], body: str) -> int:
        """The answer's status, after reading at most MAX_RESPONSE_BYTES of its body."""
        pinned = pin_to_address(url, address)
        async with self._http.stream(
            "POST",
            pinned.url,
            content=body.encode(),
            headers={**headers, **pinned.headers},
            extensions=pinned.extensions,
        ) as response:
            read = 0
            async for chunk in response.aiter_raw():
                read += len(chunk)
                if read >= MAX_RESPONSE_BYTES:
                    break  # leaving the block closes the connection
            return response.status_code


def _ms_since(started: float) -> float:
    return round((time.perf_counter() - started) * 1000, 1)
