"""An ended session's access token is refused by a service's Authenticator: from the
store at start-up and by polling (a restart, a missed event), and from the event."""

from __future__ import annotations

from collections.abc import AsyncIterator
from contextlib import AsyncExitStack
from datetime import timedelta

import pytest
from aio_pika.abc import AbstractRobustConnection

from git44_common.amqp import Publisher, Topology
from git44_common.clock import utc_now
from git44_common.contracts import SessionsEnded
from git44_common.exceptions import TokenInvalid
from git44_common.mongo import Database
from git44_common.security import Authenticator
from git44_common.sessions import SessionWatch
from git44_common.tokens import JWKSClient, TokenVerifier
from tests.utils.tokens import TokenIssuer
from tests.utils.waiting import eventually


@pytest.fixture
async def authenticator(
    mongo_db: Database,
    token_issuer: TokenIssuer,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> AsyncIterator[Authenticator]:
    """An Authenticator kept current like a service's, with a long user-status cache
    (jobs-api's 30 s) so nothing here passes by the cache expiring."""
    verifier = TokenVerifier(
        JWKSClient(token_issuer.jwks_url), issuer="git44-auth", audience="git44"
    )
    authenticator = Authenticator(verifier=verifier, db=mongo_db, status_cache_seconds=30)
    await mongo_db.users.insert_one({"_id": "u1", "role": "user", "disabled": False})
    await end_in_store(mongo_db, "ended-before-start")
    watch = SessionWatch(
        mongo_db,
        amqp_connection,
        topology,
        authenticator.ended_sessions,
        authenticator.sessions_ended,
        service="test",
        poll_seconds=0.2,
    )
    async with AsyncExitStack() as stack:
        await watch.start(stack)
        yield authenticator


async def end_in_store(db: Database, session_id: str) -> None:
    now = utc_now()
    await db.sessions.insert_one(
        {"_id": session_id, "user_id": "u1", "ended_at": now, "expires_at": now + timedelta(days=7)}
    )


async def accepted(authenticator: Authenticator, token: str) -> bool:
    try:
        await authenticator.from_bearer(f"Bearer {token}")
    except TokenInvalid:
        return False
    return True


async def test_sessions_ended_before_the_start_are_refused(
    authenticator: Authenticator, token_issuer: TokenIssuer
) -> None:
    assert not await accepted(authenticator, token_issuer.mint("u1", sid="ended-before-start"))
    assert await accepted(authenticator, token_issuer.mint("u1", sid="live"))
    assert await accepted(authenticator, token_issuer.mint("u1"))  # no sid: until it expires


async def test_a_session_ended_without_an_event_is_refused_after_a_poll(
    authenticator: Authenticator, token_issuer: TokenIssuer, mongo_db: Database
) -> None:
    token = token_issuer.mint("u1", sid="s-missed")
    assert await accepted(authenticator, token)
    await end_in_store(mongo_db, "s-missed")
    assert await eventually(lambda: _refused(authenticator, token), within=2)


async def test_an_event_ends_sessions_and_the_users_earlier_tokens_at_once(
    authenticator: Authenticator,
    token_issuer: TokenIssuer,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
    topology: Topology,
) -> None:
    old = token_issuer.mint("u1", iat=int(utc_now().timestamp()) - 60)
    other_session = token_issuer.mint("u1", sid="s-evented")
    assert await accepted(authenticator, old)  # the user's status is cached from here
    valid_after = utc_now()
    await mongo_db.users.update_one({"_id": "u1"}, {"$set": {"sessions_valid_after": valid_after}})
    publisher = await Publisher.open(amqp_connection, topology)
    event = SessionsEnded(
        user_id="u1", session_ids=["s-evented"], valid_after=valid_after, reason="logout_all"
    )
    try:
        await publisher.publish(topology.sessions_exchange, "", event, mandatory=False)
    finally:
        await publisher.close()
    assert await eventually(lambda: _refused(authenticator, old), within=1)
    assert not await accepted(authenticator, other_session)
    assert await accepted(authenticator, token_issuer.mint("u1"))  # issued after: valid


async def _refused(authenticator: Authenticator, token: str) -> bool:
    return not await accepted(authenticator, token)
