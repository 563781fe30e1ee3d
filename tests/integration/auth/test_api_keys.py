"""Dev API keys: created with the secret shown once, listed without it, private to their
owner, and dead the moment they are revoked (as jobs-api sees them)."""

from __future__ import annotations

import asyncio
from datetime import UTC, datetime, timedelta
from typing import Any

import httpx
from fastapi import FastAPI

from git44_common.exceptions import Unauthorized
from git44_common.mongo import Database
from git44_common.security import Authenticator
from tests.integration.auth.flows import PASSWORD, bearer, problem_code, register


async def test_create_list_and_revoke_keys(client: httpx.AsyncClient) -> None:
    session = await register(client)
    auth = bearer(session["accessToken"])
    created = await client.post("/api/auth/api-keys", json={"name": "ci"}, headers=auth)
    assert created.status_code == 201
    new_key = created.json()
    assert new_key["key"].startswith(new_key["prefix"])

    listed = await client.get("/api/auth/api-keys", headers=auth)
    assert listed.status_code == 200
    keys = listed.json()["data"]
    assert [k["name"] for k in keys] == ["ci", "Default"]
    assert all("key" not in k for k in keys)
    assert new_key["key"] not in listed.text

    revoked = await client.delete(f"/api/auth/api-keys/{new_key['id']}", headers=auth)
    assert revoked.status_code == 204
    remaining = (await client.get("/api/auth/api-keys", headers=auth)).json()["data"]
    assert [k["id"] for k in remaining] == [session["apiKey"]["id"]]
    again = await client.delete(f"/api/auth/api-keys/{new_key['id']}", headers=auth)
    assert again.status_code == 404


async def test_other_users_keys_are_invisible_and_undeletable(client: httpx.AsyncClient) -> None:
    alice, mallory = await register(client), await register(client)
    as_mallory = bearer(mallory["accessToken"])
    stolen = await client.delete(f"/api/auth/api-keys/{alice['apiKey']['id']}", headers=as_mallory)
    assert stolen.status_code == 404
    assert problem_code(stolen) == "not_found"
    listed = (await client.get("/api/auth/api-keys", headers=as_mallory)).json()["data"]
    assert alice["apiKey"]["id"] not in {k["id"] for k in listed}
    alices = (await client.get("/api/auth/api-keys", headers=bearer(alice["accessToken"]))).json()
    assert [k["id"] for k in alices["data"]] == [alice["apiKey"]["id"]]


async def test_a_revoked_key_stops_working_at_once(
    client: httpx.AsyncClient, auth_app: FastAPI, mongo_db: Database
) -> None:
    session = await register(client)
    # what jobs-api does with an X-API-Key: git44_common's Authenticator on the same database
    jobs_side = Authenticator(verifier=auth_app.state.context.verifier, db=mongo_db)
    principal = await jobs_side.from_api_key(session["apiKey"]["key"])
    assert principal.user_id == session["user"]["id"]
    assert principal.api_key_id == session["apiKey"]["id"]

    auth = bearer(session["accessToken"])
    await client.delete(f"/api/auth/api-keys/{session['apiKey']['id']}", headers=auth)
    try:
        await jobs_side.from_api_key(session["apiKey"]["key"])
    except Unauthorized:
        pass
    else:
        raise AssertionError("a revoked key still authenticates")


async def test_api_key_routes_need_a_token(client: httpx.AsyncClient) -> None:
    session = await register(client)
    as_key = {"Authorization": f"Bearer {session['apiKey']['key']}"}
    for response in (
        await client.get("/api/auth/api-keys"),
        await client.get("/api/auth/api-keys", headers=as_key),
        await client.post("/api/auth/api-keys", json={"name": "x"}),
    ):
        assert response.status_code == 401


async def test_the_cap_on_live_keys_holds_under_concurrent_creation(
    run_app: Any, settings_factory: Any, mongo_db: Database
) -> None:
    async with run_app(settings_factory(max_api_keys_per_user=5)) as client:
        registered = await register(client)  # comes with its first key
        headers = bearer(registered["accessToken"])
        responses = await asyncio.gather(
            *(client.post("/api/auth/api-keys", json={"name": f"k{i}"}, headers=headers)
              for i in range(40))
        )  # fmt: skip
        statuses = sorted(r.status_code for r in responses)
        assert statuses == [201] * 4 + [409] * 36
        user_id = registered["user"]["id"]
        live = {"user_id": user_id, "revoked_at": None}
        assert await mongo_db["api_keys"].count_documents(live) == 5
        # a revoked key frees its place
        listed = (await client.get("/api/auth/api-keys", headers=headers)).json()["data"]
        revoked = await client.delete(f"/api/auth/api-keys/{listed[0]['id']}", headers=headers)
        assert revoked.status_code == 204
        again = await client.post("/api/auth/api-keys", json={"name": "again"}, headers=headers)
        assert again.status_code == 201


async def test_a_key_may_carry_an_expiry_and_expired_keys_leave_room_under_the_cap(
    run_app: Any, settings_factory: Any
) -> None:
    async with run_app(settings_factory(max_api_keys_per_user=2)) as client:
        registered = await register(client)  # its first key is one of the two
        headers = bearer(registered["accessToken"])
        soon = (datetime.now(UTC) + timedelta(seconds=1)).isoformat()
        past = (datetime.now(UTC) - timedelta(minutes=1)).isoformat()
        refused = await client.post("/api/auth/api-keys", json={"expiresAt": past}, headers=headers)
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "expiresAt"]
        naive = await client.post(
            "/api/auth/api-keys", json={"expiresAt": "2030-01-01T00:00:00"}, headers=headers
        )
        assert naive.status_code == 422  # a time without its zone is ambiguous
        created = await client.post("/api/auth/api-keys", json={"expiresAt": soon}, headers=headers)
        assert created.status_code == 201, created.text
        assert created.json()["expiresAt"] is not None
        full = await client.post("/api/auth/api-keys", json={}, headers=headers)
        assert full.status_code == 409
        await asyncio.sleep(1.2)  # the expired key no longer takes a place
        again = await client.post("/api/auth/api-keys", json={}, headers=headers)
        assert again.status_code == 201, again.text
        listed = (await client.get("/api/auth/api-keys", headers=headers)).json()["data"]
        assert {key["expiresAt"] is None for key in listed} == {True, False}  # shown, with its end


async def test_a_password_change_revokes_the_api_keys_when_asked(client: httpx.AsyncClient) -> None:
    registered = await register(client)
    headers = bearer(registered["accessToken"])
    password = PASSWORD
    for revoke, live_after in ((False, 1), (True, 0)):
        new_password = f"{password}-{revoke}"
        change = {
            "currentPassword": password,
            "newPassword": new_password,
            "confirmPassword": new_password,
            "revokeApiKeys": revoke,
        }
        changed = await client.post("/api/auth/password", json=change, headers=headers)
        assert changed.status_code == 200, changed.text
        headers, password = bearer(changed.json()["accessToken"]), new_password
        listed = (await client.get("/api/auth/api-keys", headers=headers)).json()["data"]
        assert len(listed) == live_after
