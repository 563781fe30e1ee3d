"""Password change ends every session; the first admin comes from settings or the CLI."""

from __future__ import annotations

import asyncio
from collections.abc import Callable
from contextlib import AbstractAsyncContextManager

import httpx
from prometheus_client import REGISTRY

from git44_auth.cli import run_create_admin
from git44_auth.core.config import AuthSettings
from git44_common.mongo import Database
from tests.integration.auth.conftest import ADMIN_EMAIL
from tests.integration.auth.flows import (
    ADMIN_PASSWORD,
    NEW_PASSWORD,
    PASSWORD,
    WRONG_PASSWORD,
    bearer,
    login,
    new_email,
    problem_code,
    register,
)
from tests.utils.processes import ManagedProcess, python_module

RunApp = Callable[[AuthSettings], AbstractAsyncContextManager[httpx.AsyncClient]]


async def test_password_change_revokes_every_refresh_token(client: httpx.AsyncClient) -> None:
    email = new_email()
    first = await register(client, email)
    second = (await login(client, email)).json()
    body = {
        "currentPassword": PASSWORD,
        "newPassword": NEW_PASSWORD,
        "confirmPassword": NEW_PASSWORD,
    }
    wrong = {**body, "currentPassword": WRONG_PASSWORD}
    headers = bearer(first["accessToken"])

    refused = await client.post("/api/auth/password", json=wrong, headers=headers)
    assert refused.status_code == 401
    assert problem_code(refused) == "invalid_credentials"
    changed = await client.post("/api/auth/password", json=body, headers=headers)
    assert changed.status_code == 200

    for old in (first["refreshToken"], second["refreshToken"]):
        response = await client.post("/api/auth/refresh", json={"refreshToken": old})
        assert response.status_code == 401
    new_refresh = changed.json()["refreshToken"]
    assert (
        await client.post("/api/auth/refresh", json={"refreshToken": new_refresh})
    ).status_code == 200
    assert (await login(client, email)).status_code == 401
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200


async def test_bootstrap_admin_is_seeded_once_even_by_concurrent_replicas(
    client: httpx.AsyncClient, auth_settings: AuthSettings, run_app: RunApp, mongo_db: Database
) -> None:
    async def start_replica() -> None:
        async with run_app(auth_settings):
            pass

    await asyncio.gather(start_replica(), start_replica())
    admins = await mongo_db["users"].find({"email": ADMIN_EMAIL}).to_list()
    assert [a["role"] for a in admins] == ["admin"]
    assert (await login(client, ADMIN_EMAIL, ADMIN_PASSWORD)).status_code == 200


async def test_create_admin_takes_an_existing_account_over_with_the_given_password(
    client: httpx.AsyncClient, settings_factory: Callable[..., AuthSettings], mongo_db: Database
) -> None:
    # anyone can register any address: the account may be a squatter's
    squatter = await register(client)
    email = squatter["user"]["email"]
    settings = settings_factory(admin_password=NEW_PASSWORD)
    assert await asyncio.to_thread(run_create_admin, settings, email) == 0
    user = await mongo_db["users"].find_one({"email": email})
    assert user is not None
    assert user["role"] == "admin"
    assert (await login(client, email)).status_code == 401  # the old password is gone
    assert (await login(client, email, NEW_PASSWORD)).status_code == 200
    refreshed = await client.post(
        "/api/auth/refresh", json={"refreshToken": squatter["refreshToken"]}
    )
    assert refreshed.status_code == 401  # and what it opened is closed
    live_keys = {"user_id": user["_id"], "revoked_at": None}
    assert await mongo_db["api_keys"].count_documents(live_keys) == 0


async def test_keep_password_promotes_only_a_verified_account(
    client: httpx.AsyncClient, settings_factory: Callable[..., AuthSettings], mongo_db: Database
) -> None:
    settings = settings_factory(admin_password=NEW_PASSWORD)
    unverified, verified = await register(client), await register(client)
    await mongo_db["users"].update_one(
        {"_id": unverified["user"]["id"]}, {"$set": {"email_verified": False}}
    )
    await mongo_db["users"].update_one(
        {"_id": verified["user"]["id"]}, {"$set": {"email_verified": True}}
    )
    for account, status, role in ((unverified, 1, "user"), (verified, 0, "admin")):
        email = account["user"]["email"]
        code = await asyncio.to_thread(run_create_admin, settings, email, keep_password=True)
        assert code == status
        user = await mongo_db["users"].find_one({"email": email})
        assert user is not None
        assert user["role"] == role
        assert (await login(client, email)).status_code == 200  # its password kept


async def test_the_bootstrap_admin_does_not_promote_an_account_with_another_password(
    client: httpx.AsyncClient,
    settings_factory: Callable[..., AuthSettings],
    run_app: RunApp,
    mongo_db: Database,
) -> None:
    squatted, matching = await register(client), await register(client, password=ADMIN_PASSWORD)
    for account, role in ((squatted, "user"), (matching, "admin")):
        email = account["user"]["email"]
        settings = settings_factory(
            bootstrap_admin_email=email, bootstrap_admin_password=ADMIN_PASSWORD
        )
        async with run_app(settings):
            pass
        user = await mongo_db["users"].find_one({"email": email})
        assert user is not None
        assert user["role"] == role
    assert (await login(client, squatted["user"]["email"])).status_code == 200  # untouched


async def test_create_admin_cli_as_a_process(
    mongo_url: str, db_name: str, mongo_db: Database
) -> None:
    env = {
        "GIT44_ENV": "test",
        "MONGODB_URL": mongo_url,
        "MONGODB_DB": db_name,
        "AUTH_BCRYPT_ROUNDS": "4",
        "AUTH_ADMIN_PASSWORD": ADMIN_PASSWORD,
    }
    email = new_email("ops")
    args = python_module("git44_auth", "create-admin", "--email", email)
    process = ManagedProcess("create-admin", args, env=env).start()
    assert process.proc is not None
    assert await asyncio.to_thread(process.proc.wait, 60) == 0
    user = await mongo_db["users"].find_one({"email": email})
    assert user is not None
    assert user["role"] == "admin"
    output = process.log_path.read_text()
    assert f"admin {email}: created" in output
    assert ADMIN_PASSWORD not in output


def test_create_admin_cli_refuses_a_short_password(
    settings_factory: Callable[..., AuthSettings],
) -> None:
    settings = settings_factory(admin_password=None)
    answers = iter(["short", "short"])
    assert run_create_admin(settings, new_email(), prompt=lambda _: next(answers)) == 2
    mismatched = iter([PASSWORD, NEW_PASSWORD])
    assert run_create_admin(settings, new_email(), prompt=lambda _: next(mismatched)) == 2


def sample(name: str, **labels: str) -> float:
    return REGISTRY.get_sample_value(name, labels) or 0.0


async def test_business_metrics_count_what_happened(client: httpx.AsyncClient) -> None:
    before = {
        "registered": sample("git44_auth_registrations_total"),
        "ok": sample("git44_auth_logins_total", outcome="success"),
        "bad": sample("git44_auth_logins_total", outcome="invalid_credentials"),
        "refreshed": sample("git44_auth_refreshes_total"),
        "reused": sample("git44_auth_refresh_reuse_total"),
    }
    session = await register(client)
    await login(client, session["user"]["email"])
    await login(client, session["user"]["email"], WRONG_PASSWORD)
    await client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    await client.post("/api/auth/refresh", json={"refreshToken": session["refreshToken"]})
    assert sample("git44_auth_registrations_total") == before["registered"] + 1
    assert sample("git44_auth_logins_total", outcome="success") == before["ok"] + 1
    assert sample("git44_auth_logins_total", outcome="invalid_credentials") == before["bad"] + 1
    assert sample("git44_auth_refreshes_total") == before["refreshed"] + 1
    assert sample("git44_auth_refresh_reuse_total") == before["reused"] + 1
    exposed = (await client.get("/metrics")).text
    assert 'git44_auth_logins_total{outcome="success"}' in exposed
