"""Admin user management: 403 for everyone else, search and cursor pages, role and
`disabled` changes that take effect and are audited."""

from __future__ import annotations

from typing import Any

import httpx

from git44_common.mongo import Database
from tests.integration.auth.conftest import ADMIN_EMAIL
from tests.integration.auth.flows import (
    ADMIN_PASSWORD,
    bearer,
    login,
    new_email,
    problem_code,
    register,
)


async def admin_headers(client: httpx.AsyncClient) -> dict[str, str]:
    response = await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)
    assert response.status_code == 200, response.text
    assert response.json()["user"]["role"] == "admin"
    return bearer(response.json()["accessToken"])


async def patch_user(
    client: httpx.AsyncClient, headers: dict[str, str], user_id: str, body: dict[str, Any]
) -> httpx.Response:
    return await client.patch(f"/api/admin/users/{user_id}", json=body, headers=headers)


async def test_non_admins_get_403_on_every_admin_route(client: httpx.AsyncClient) -> None:
    user = await register(client)
    headers = bearer(user["accessToken"])
    target = f"/api/admin/users/{user['user']['id']}"
    for response in (
        await client.get("/api/admin/users", headers=headers),
        await client.get(target, headers=headers),
        await client.patch(target, json={"role": "admin"}, headers=headers),
    ):
        assert response.status_code == 403
        assert problem_code(response) == "forbidden"
    assert (await client.get("/api/admin/users")).status_code == 401


async def test_list_search_and_paginate(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    emails = {(await register(client, new_email("pager")))["user"]["email"] for _ in range(5)}
    seen: list[str] = []
    cursor = None
    while True:
        params: dict[str, Any] = {"email": "PAGER-", "limit": 2}
        if cursor:
            params["cursor"] = cursor
        page = (await client.get("/api/admin/users", params=params, headers=headers)).json()
        assert len(page["data"]) <= 2
        seen += [user["email"] for user in page["data"]]
        cursor = page["nextCursor"]
        if cursor is None:
            break
    assert sorted(seen) == sorted(emails)
    assert len(seen) == len(set(seen))
    admins = await client.get("/api/admin/users", params={"role": "admin"}, headers=headers)
    assert [u["email"] for u in admins.json()["data"]] == [ADMIN_EMAIL]
    bad = await client.get("/api/admin/users", params={"cursor": "garbage!"}, headers=headers)
    assert bad.status_code == 422


async def test_disabling_a_user_locks_them_out_and_is_audited(
    client: httpx.AsyncClient, mongo_db: Database
) -> None:
    headers = await admin_headers(client)
    user = await register(client)
    user_id = user["user"]["id"]
    response = await patch_user(client, headers, user_id, {"disabled": True})
    assert response.status_code == 200
    assert response.json()["disabled"] is True

    me = await client.get("/api/auth/me", headers=bearer(user["accessToken"]))
    assert (me.status_code, problem_code(me)) == (401, "token_invalid")
    relogin = await login(client, user["user"]["email"])
    assert relogin.status_code == 403
    assert problem_code(relogin) == "forbidden"
    refresh = await client.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    assert (refresh.status_code, problem_code(refresh)) == (401, "token_invalid")

    admin_id = (await client.get("/api/auth/me", headers=headers)).json()["id"]
    entry = await mongo_db["audit_log"].find_one({"target": user_id})
    assert entry is not None
    assert entry["actor"] == admin_id
    assert entry["action"] == "user.update"
    assert entry["before"] == {"role": "user", "disabled": False}
    assert entry["after"] == {"role": "user", "disabled": True}
    assert entry["at"] is not None


async def test_role_changes_apply_to_the_next_token_and_demotion_at_once(
    client: httpx.AsyncClient,
) -> None:
    headers = await admin_headers(client)
    user = await register(client)
    user_id = user["user"]["id"]
    promoted = await patch_user(client, headers, user_id, {"role": "admin"})
    assert promoted.json()["role"] == "admin"
    refreshed = await client.post("/api/auth/refresh", json={"refreshToken": user["refreshToken"]})
    new_admin = bearer(refreshed.json()["accessToken"])
    assert (await client.get(f"/api/admin/users/{user_id}", headers=new_admin)).status_code == 200

    await patch_user(client, headers, user_id, {"role": "user"})
    # the token still says admin, but the account no longer is one
    demoted = await client.get("/api/admin/users", headers=new_admin)
    assert demoted.status_code == 403


async def test_patch_edge_cases(client: httpx.AsyncClient) -> None:
    headers = await admin_headers(client)
    admin_id = (await client.get("/api/auth/me", headers=headers)).json()["id"]
    myself = await patch_user(client, headers, admin_id, {"disabled": True})
    assert myself.status_code == 409
    missing = await patch_user(client, headers, "no-such-user", {"disabled": True})
    assert missing.status_code == 404
    assert problem_code(missing) == "not_found"
    for body in ({}, {"role": "root"}, {"email": "x@example.com"}):
        response = await patch_user(client, headers, admin_id, body)
        assert response.status_code == 422, body
    assert (await client.get("/api/admin/users/no-such-user", headers=headers)).status_code == 404
