"""The account lifecycle a user goes through, with exact status codes and problem codes."""

from __future__ import annotations

import asyncio
from typing import Any

import httpx

from git44_common.mongo import Database
from tests.integration.auth.conftest import LogCapture
from tests.integration.auth.flows import (
    PASSWORD,
    bearer,
    leaked_secrets,
    login,
    new_email,
    problem_code,
    register,
    register_raw,
)


async def test_register_login_me_refresh_reuse_logout(client: httpx.AsyncClient) -> None:
    email = new_email()
    registered = await register(client, email.upper())
    assert registered["user"]["email"] == email
    assert registered["user"]["role"] == "user"
    assert registered["tokenType"] == "Bearer"
    assert registered["expiresIn"] == 24 * 3600
    assert registered["apiKey"]["key"].startswith(registered["apiKey"]["prefix"])

    logged_in = await login(client, email)
    assert logged_in.status_code == 200
    tokens = logged_in.json()
    me = await client.get("/api/auth/me", headers=bearer(tokens["accessToken"]))
    assert me.status_code == 200
    assert me.json()["id"] == registered["user"]["id"]

    first = await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert first.status_code == 200
    rotated = first.json()
    assert rotated["refreshToken"] != tokens["refreshToken"]

    reused = await client.post("/api/auth/refresh", json={"refreshToken": tokens["refreshToken"]})
    assert reused.status_code == 401
    assert problem_code(reused) == "token_invalid"
    # the reuse revoked the whole family: the newest token is dead too
    newest = await client.post("/api/auth/refresh", json={"refreshToken": rotated["refreshToken"]})
    assert newest.status_code == 401
    assert problem_code(newest) == "token_invalid"

    other = (await login(client, email)).json()
    out = await client.post("/api/auth/logout", json={"refreshToken": other["refreshToken"]})
    assert out.status_code == 204
    after = await client.post("/api/auth/refresh", json={"refreshToken": other["refreshToken"]})
    assert after.status_code == 401
    assert problem_code(after) == "token_invalid"


async def test_bad_logins_and_missing_token_are_refused(client: httpx.AsyncClient) -> None:
    email = new_email()
    await register(client, email)
    wrong = await login(client, email, "definitely-not-it-42")
    unknown = await login(client, new_email(), PASSWORD)
    for response in (wrong, unknown):
        assert response.status_code == 401
        assert problem_code(response) == "invalid_credentials"
    anonymous = await client.get("/api/auth/me")
    assert anonymous.status_code == 401
    assert problem_code(anonymous) == "unauthorized"


async def test_registration_validation_answers_422(client: httpx.AsyncClient) -> None:
    cases = [
        {"email": "not-an-email", "password": PASSWORD, "confirmPassword": PASSWORD},
        {"email": new_email(), "password": "short", "confirmPassword": "short"},
        {"email": new_email(), "password": PASSWORD, "confirmPassword": PASSWORD + "x"},
        {"email": new_email(), "password": "é" * 40, "confirmPassword": "é" * 40},  # 80 bytes
        {"email": new_email(), "password": PASSWORD},
    ]
    for body in cases:
        response = await client.post("/api/auth/register", json=body)
        assert response.status_code == 422, body
        assert problem_code(response) == "validation_failed"
        assert PASSWORD not in response.text


async def test_email_is_taken_case_insensitively(client: httpx.AsyncClient) -> None:
    email = new_email()
    await register(client, email)
    again = await client.post(
        "/api/auth/register",
        json={"email": email.upper(), "password": PASSWORD, "confirmPassword": PASSWORD},
    )
    assert again.status_code == 409
    assert problem_code(again) == "email_taken"


async def test_twenty_concurrent_registrations_of_one_email_create_one_account(
    run_app: Any, settings_factory: Any, mongo_db: Database
) -> None:
    email = new_email()
    body = {"email": email, "password": PASSWORD, "confirmPassword": PASSWORD}
    # twenty from one address: above the default registrations per IP
    async with run_app(settings_factory(register_per_ip_per_hour=100)) as client:
        responses = await asyncio.gather(
            *(client.post("/api/auth/register", json=body) for _ in range(20))
        )
    statuses = sorted(r.status_code for r in responses)
    assert statuses == [201] + [409] * 19
    assert {problem_code(r) for r in responses if r.status_code == 409} == {"email_taken"}
    assert await mongo_db["users"].count_documents({"email": email}) == 1
    user = await mongo_db["users"].find_one({"email": email})
    assert user is not None
    assert await mongo_db["api_keys"].count_documents({"user_id": user["_id"]}) == 1


async def test_register_stores_what_other_services_read(
    client: httpx.AsyncClient, mongo_db: Database
) -> None:
    registered = await register(client)
    user = await mongo_db["users"].find_one({"_id": registered["user"]["id"]})
    assert user is not None
    assert user["disabled"] is False
    assert user["role"] == "user"
    assert user["password_hash"].startswith("$2b$")
    key = await mongo_db["api_keys"].find_one({"_id": registered["apiKey"]["id"]})
    assert key is not None
    assert set(key) == {
        "_id", "user_id", "name", "prefix", "key_hash", "created_at", "last_used", "revoked_at",
        "expires_at",
    }  # fmt: skip
    assert key["revoked_at"] is None
    assert registered["apiKey"]["key"] not in str(key)


async def test_the_log_capture_sees_auth_logs(
    client: httpx.AsyncClient, log_capture: LogCapture
) -> None:
    registered = await register(client)
    await login(client, registered["user"]["email"], "definitely-not-it-42")
    assert '"message": "user registered"' in log_capture.output
    # and the leak detector the fixture applies at teardown would notice a token
    assert leaked_secrets(f"oops {registered['refreshToken']}") != []
    assert leaked_secrets(f"key={registered['apiKey']['key']}") != []


async def test_malformed_requests_get_problem_json_never_a_500(client: httpx.AsyncClient) -> None:
    token = (await register(client))["accessToken"]
    attempts = [
        ("POST", "/api/auth/register", {"content": b"{not json"}),
        ("POST", "/api/auth/login", {"json": None}),
        ("POST", "/api/auth/login", {"json": ["a", "b"]}),
        ("POST", "/api/auth/login", {"json": {"email": "x" * 5000, "password": "p"}}),
        ("POST", "/api/auth/refresh", {"json": {"refreshToken": "x" * 9000}}),
        ("POST", "/api/auth/logout", {"json": {"refreshToken": 42}}),
        ("PATCH", "/api/admin/users/x", {"json": {"role": "admin"}}),
        ("DELETE", "/api/auth/api-keys/" + "z" * 500, {}),
    ]
    for method, path, kwargs in attempts:
        response = await client.request(method, path, headers=bearer(token), **kwargs)
        assert 400 <= response.status_code < 500, (method, path, response.status_code)
        assert response.headers["content-type"].startswith("application/problem+json")
    schema = await client.get("/openapi.json")
    assert "/api/auth/register" in schema.json()["paths"]


async def test_the_minimum_password_length_is_the_setting(
    run_app: Any, settings_factory: Any
) -> None:
    eleven, twelve = "a1b2c3d4e5f", "a1b2c3d4e5f6"
    async with run_app(settings_factory(password_min_length=12)) as client:
        short = await register_raw(client, new_email(), eleven)
        assert short.status_code == 422
        assert problem_code(short) == "validation_failed"
        assert short.json()["errors"][0]["loc"] == ["body", "password"]
        account = await register(client, new_email(), twelve)
        change = {"currentPassword": twelve, "newPassword": eleven, "confirmPassword": eleven}
        refused = await client.post(
            "/api/auth/password", json=change, headers=bearer(account["accessToken"])
        )
        assert refused.status_code == 422
        assert refused.json()["errors"][0]["loc"] == ["body", "newPassword"]
    # a lower setting admits what the old hard-coded minimum of 8 refused
    async with run_app(settings_factory(password_min_length=6)) as client:
        assert (await register_raw(client, new_email(), "a1b2c3")).status_code == 201
