"""SSE streams end when they should: at the per-user cap (the next one is refused), when
the access token expires, when the user is disabled."""

from __future__ import annotations

import asyncio
from typing import Any

from git44_common.mongo import Database
from tests.integration.jobs.support import SseClient, Users
from tests.utils.tokens import TokenIssuer
from tests.utils.waiting import eventually

EVENTS = "/api/removal/events"


async def test_a_user_may_hold_only_so_many_streams_at_once(serve_jobs: Any, users: Users) -> None:
    async with serve_jobs(sse_streams_per_user=3) as jobs:
        user, other = await users.create(), await users.create()
        streams = [SseClient(jobs.client, EVENTS, users.bearer(user)) for _ in range(3)]
        try:
            assert await eventually(lambda: _all_ready(streams))
            refused = await jobs.client.get(EVENTS, headers=users.bearer(user))
            assert refused.status_code == 429
            assert refused.headers["content-type"] == "application/problem+json"
            assert (refused.json()["code"], refused.json()["policy"]) == (
                "rate_limited", "sse-streams",
            )  # fmt: skip
            assert refused.headers["RateLimit-Policy"].startswith('"sse-streams";q=3')
            # another user is not held back, and a closed stream frees its slot
            elsewhere = SseClient(jobs.client, EVENTS, users.bearer(other))
            await streams.pop().close()
            again = SseClient(jobs.client, EVENTS, users.bearer(user))
            assert await eventually(lambda: _all_ready([elsewhere, again]))
            streams += [elsewhere, again]
        finally:
            for stream in streams:
                await stream.close()


async def test_a_stream_ends_when_its_access_token_expires(
    served_jobs: Any, users: Users, token_issuer: TokenIssuer
) -> None:
    user = await users.create()
    headers = {"Authorization": f"Bearer {token_issuer.mint(user, ttl=3)}"}
    stream = SseClient(served_jobs.client, EVENTS, headers)
    try:
        assert await eventually(lambda: _all_ready([stream]))
        await asyncio.wait_for(stream.finished(), timeout=10)
        assert stream.of("expired"), stream.events  # says why, so the client reconnects
    finally:
        await stream.close()


async def test_a_stream_ends_when_its_user_is_disabled(
    serve_jobs: Any, users: Users, mongo_db: Database
) -> None:
    async with serve_jobs(user_status_cache_seconds=0) as jobs:
        user = await users.create()
        stream = SseClient(jobs.client, EVENTS, users.bearer(user))
        try:
            assert await eventually(lambda: _all_ready([stream]))
            await mongo_db.users.update_one({"_id": user}, {"$set": {"disabled": True}})
            await asyncio.wait_for(stream.finished(), timeout=10)
        finally:
            await stream.close()


async def _all_ready(streams: list[SseClient]) -> bool:
    return all(stream.of("ready") for stream in streams)
