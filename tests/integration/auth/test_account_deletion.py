"""Deleting an account in auth: the password is checked, `AccountDeleted` is confirmed
by the broker before anything is deleted (503 and nothing deleted otherwise), then the
user, their API keys and refresh tokens are gone; admins delete others, audited by id."""

from __future__ import annotations

from typing import Any

import httpx
import pytest
from aio_pika.abc import AbstractRobustConnection
from fastapi import FastAPI

from git44_common.amqp import PublishTimeout
from git44_common.contracts import AccountDeleted
from git44_common.mongo import Database
from tests.integration.auth.flows import PASSWORD, bearer, login, problem_code, register
from tests.integration.auth.test_admin_users import admin_headers


async def delete_me(client: httpx.AsyncClient, token: str, password: str) -> httpx.Response:
    return await client.request(
        "DELETE", "/api/auth/me", json={"currentPassword": password}, headers=bearer(token)
    )


async def announced(connection: AbstractRobustConnection, app: FastAPI) -> list[AccountDeleted]:
    """The `AccountDeleted` events waiting on jobs-api's queue."""
    queue_name = app.state.context.publisher.topology.accounts_queue
    events = []
    async with connection.channel() as channel:
        queue = await channel.get_queue(queue_name, ensure=True)
        while (message := await queue.get(fail=False)) is not None:
            events.append(AccountDeleted.model_validate_json(message.body))
            await message.ack()
    return events


async def owned_by(db: Database, user_id: str) -> dict[str, Any]:
    return {
        "users": await db.users.count_documents({"_id": user_id}),
        "api_keys": await db.api_keys.count_documents({"user_id": user_id}),
        "refresh_tokens": await db.refresh_tokens.count_documents({"user_id": user_id}),
    }


async def test_deleting_ones_account_needs_the_password_and_deletes_it(
    client: httpx.AsyncClient,
    auth_app: FastAPI,
    mongo_db: Database,
    amqp_connection: AbstractRobustConnection,
) -> None:
    user = await register(client)
    user_id, email = user["user"]["id"], user["user"]["email"]

    wrong = await delete_me(client, user["accessToken"], "not the password")
    assert (wrong.status_code, problem_code(wrong)) == (401, "invalid_credentials")
    assert (await owned_by(mongo_db, user_id))["users"] == 1

    deleted = await delete_me(client, user["accessToken"], PASSWORD)
    assert deleted.status_code == 204, deleted.text
    assert await owned_by(mongo_db, user_id) == {"users": 0, "api_keys": 0, "refresh_tokens": 0}
    assert (await login(client, email)).status_code == 401
    me = await client.get("/api/auth/me", headers=bearer(user["accessToken"]))
    assert me.status_code == 401
    assert [event.user_id for event in await announced(amqp_connection, auth_app)] == [user_id]


async def test_nothing_is_deleted_when_the_broker_does_not_confirm(
    client: httpx.AsyncClient,
    auth_app: FastAPI,
    mongo_db: Database,
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    user = await register(client)

    async def unconfirmed(*_args: Any, **_kwargs: Any) -> None:
        raise PublishTimeout("no confirm")

    monkeypatch.setattr(auth_app.state.context.publisher, "publish", unconfirmed)
    response = await delete_me(client, user["accessToken"], PASSWORD)

    assert (response.status_code, problem_code(response)) == (503, "service_unavailable")
    assert (await owned_by(mongo_db, user["user"]["id"]))["users"] == 1
    assert (await login(client, user["user"]["email"])).status_code == 200


async def test_an_admin_deletes_a_user_audited_by_id(
    client: httpx.AsyncClient, mongo_db: Database
) -> None:
    admin = await admin_headers(client)
    user = await register(client)
    user_id = user["user"]["id"]

    response = await client.delete(f"/api/admin/users/{user_id}", headers=admin)

    assert response.status_code == 204, response.text
    assert (await owned_by(mongo_db, user_id))["users"] == 0
    entry = await mongo_db.audit_log.find_one({"action": "user.delete", "target": user_id})
    assert entry is not None
    assert (entry["before"], entry["after"]) == (None, None)
    again = await client.delete(f"/api/admin/users/{user_id}", headers=admin)
    assert again.status_code == 404
    me = await client.get("/api/auth/me", headers=admin)
    own = await client.delete(f"/api/admin/users/{me.json()['id']}", headers=admin)
    assert own.status_code == 409
    regular = await register(client)
    refused = await client.delete(
        f"/api/admin/users/{user_id}", headers=bearer(regular["accessToken"])
    )
    assert refused.status_code == 403
