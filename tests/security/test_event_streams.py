"""Live streams an abuser cannot hoard or outlive: at most JOBS_SSE_STREAMS_PER_USER per
user (the next one is a 429), and a stream ends when its access token expires."""

from __future__ import annotations

import asyncio
import time
from collections.abc import AsyncIterator
from contextlib import AsyncExitStack, asynccontextmanager

import httpx
from localstack import LocalStack

from git44_jobs.core.config import JobsSettings
from tests.security.actors import Signer, register
from tests.utils.requests import bearer

STREAMS_PER_USER = JobsSettings.model_fields["sse_streams_per_user"].default


@asynccontextmanager
async def _stream(
    http: httpx.AsyncClient, url: str, token: str
) -> AsyncIterator[AsyncIterator[str]]:
    """An open stream, past its `ready` event; yields the rest of its lines."""
    async with http.stream("GET", f"{url}/api/removal/events", headers=bearer(token)) as stream:
        assert stream.status_code == 200, await stream.aread()
        lines = stream.aiter_lines()
        async for line in lines:
            if line == "event: ready":
                break
        yield lines


async def test_one_stream_more_than_the_cap_is_refused(security_stack: LocalStack) -> None:
    account = register(security_stack)
    url = security_stack.url("jobs-api")
    async with httpx.AsyncClient(timeout=30, trust_env=False) as http, AsyncExitStack() as open_:
        for _ in range(STREAMS_PER_USER):
            await open_.enter_async_context(_stream(http, url, account.access_token))
        refused = await http.get(f"{url}/api/removal/events", headers=account.headers)
        assert refused.status_code == 429
        assert refused.headers["content-type"] == "application/problem+json"
        assert refused.json()["code"] == "rate_limited"
        assert refused.headers["ratelimit-policy"].startswith(f'"sse-streams";q={STREAMS_PER_USER}')
        assert int(refused.headers["retry-after"]) >= 1
        # another user is not held back by this one
        other = register(security_stack)
        async with _stream(http, url, other.access_token):
            pass


async def test_a_stream_ends_when_its_access_token_expires(
    security_stack: LocalStack, signer: Signer
) -> None:
    account = register(security_stack)
    expires = int(time.time()) + 3
    token = signer.mint(signer.claims(account.id, exp=expires))
    url = security_stack.url("jobs-api")
    async with (
        httpx.AsyncClient(timeout=30, trust_env=False) as http,
        _stream(http, url, token) as lines,
    ):
        rest = await asyncio.wait_for(_read_to_end(lines), timeout=15)
    assert time.time() >= expires  # it lasted until the token's end
    assert time.time() < expires + 5  # and ended then, not at the next heartbeat
    assert "event: expired" in rest, rest
    assert 'data: {"reason":"token_expired"}' in rest


async def _read_to_end(lines: AsyncIterator[str]) -> list[str]:
    return [line async for line in lines]
