"""Sessions that end, inside auth: the refresh rotation race, log out everywhere, and
tokens from before sessions had ids."""

from __future__ import annotations

from collections.abc import Awaitable, Callable
from datetime import timedelta
from typing import Any

import httpx
import pytest
from fastapi import FastAPI

from git44_auth.context import AuthContext
from git44_auth.crud import refresh_tokens
from git44_auth.tokens import mint_token
from git44_common.clock import utc_now
from git44_common.mongo import Database
from tests.integration.auth.flows import bearer, login, problem_code, register

Insert = Callable[..., Awaitable[None]]


async def refresh(client: httpx.AsyncClient, token: str) -> httpx.Response:
    return await client.post("/api/auth/refresh", json={"refreshToken": token})


async def test_a_reuse_between_claim_and_insert_still_revokes_the_new_token(
    client: httpx.AsyncClient, mongo_db: Database, monkeypatch: pytest.MonkeyPatch
) -> None:
    """The race: refresh A claims its token and, while it writes the new one, the old
    token is presented again. The reuse ends the session before the new token exists;
    the new token must die all the same."""
    registered = await register(client)
    old = registered["refreshToken"]
    real_insert: Insert = refresh_tokens.insert_refresh_token
    written: list[str] = []
    reuses: list[httpx.Response] = []

    async def insert_after_a_reuse(*args: Any, **kwargs: Any) -> None:
        reuses.append(await refresh(client, old))  # the winner is paused after its claim
        await real_insert(*args, **kwargs)
        written.append(kwargs["jti"])

    monkeypatch.setattr(refresh_tokens, "insert_refresh_token", insert_after_a_reuse)
    winner = await refresh(client, old)
    monkeypatch.setattr(refresh_tokens, "insert_refresh_token", real_insert)

    assert [(r.status_code, problem_code(r)) for r in reuses] == [(401, "token_invalid")]
    assert (winner.status_code, problem_code(winner)) == (401, "token_invalid")
    new_token = await mongo_db["refresh_tokens"].find_one({"_id": written[0]})
    assert new_token is not None
    assert new_token["revoked_at"] is not None
    session = await mongo_db["sessions"].find_one({"_id": new_token["family_id"]})
    assert session is not None
    assert (session["end_reason"], session["ended_at"] is not None) == ("refresh_reuse", True)
    me = await client.get("/api/auth/me", headers=bearer(registered["accessToken"]))
    assert (me.status_code, problem_code(me)) == (401, "token_invalid")


async def test_a_refresh_of_an_ended_session_is_refused_before_rotating(
    client: httpx.AsyncClient, mongo_db: Database
) -> None:
    """The family-level check: a token the revocation missed is still refused."""
    registered = await register(client)
    rotated = (await refresh(client, registered["refreshToken"])).json()
    await refresh(client, registered["refreshToken"])  # reuse: the session ends
    await mongo_db["refresh_tokens"].update_many({}, {"$set": {"revoked_at": None}})
    again = await refresh(client, rotated["refreshToken"])
    assert (again.status_code, problem_code(again)) == (401, "token_invalid")


async def test_log_out_everywhere_ends_every_session_of_the_caller_only(
    client: httpx.AsyncClient,
) -> None:
    mine, other_user = await register(client), await register(client)
    second = await login(client, mine["user"]["email"])
    out = await client.post("/api/auth/logout-all", headers=bearer(mine["accessToken"]))
    assert out.status_code == 204
    for session in (mine, second.json()):
        me = await client.get("/api/auth/me", headers=bearer(session["accessToken"]))
        assert (me.status_code, problem_code(me)) == (401, "token_invalid")
        again = await refresh(client, session["refreshToken"])
        assert (again.status_code, problem_code(again)) == (401, "token_invalid")
    untouched = await client.get("/api/auth/me", headers=bearer(other_user["accessToken"]))
    assert untouched.status_code == 200


async def test_tokens_without_a_session_id_stay_valid_until_the_user_logs_out_everywhere(
    client: httpx.AsyncClient, auth_app: FastAPI
) -> None:
    registered = await register(client)
    ctx: AuthContext = auth_app.state.context
    user_id = registered["user"]["id"]
    earlier = utc_now() - timedelta(seconds=10)  # issued before this change was deployed
    legacy = mint_token(
        ctx.keys, ctx.policy, user_id=user_id, role="user", token_type="access", now=earlier
    )
    assert (await client.get("/api/auth/me", headers=bearer(legacy.token))).status_code == 200
    await client.post("/api/auth/logout", json={"refreshToken": registered["refreshToken"]})
    assert (await client.get("/api/auth/me", headers=bearer(legacy.token))).status_code == 200

    await client.post("/api/auth/logout-all", headers=bearer(legacy.token))
    me = await client.get("/api/auth/me", headers=bearer(legacy.token))
    assert (me.status_code, problem_code(me)) == (401, "token_invalid")
